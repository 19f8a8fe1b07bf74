Console.Error.WriteLine("xenstore-hostsim: not built yet");
return 2;
