namespace Xenstore.Cli;

/// <summary>
/// Where the tools write. <see cref="Buffered"/> mirrors xenstore_client.c's output buffer: discarded when a
/// transaction is retried, written only when the tool finishes normally. <see cref="Direct"/> is stdio's stdout
/// (ls, watch): always flushed, even when the tool then fails. Everything is bytes, so values round-trip exactly.
/// </summary>
internal sealed class CliOutput
{
    private readonly Stream _stdout;
    private readonly Stream _stderr;

    public CliOutput(Stream stdout, Stream stderr, string programName)
    {
        _stdout = stdout;
        _stderr = stderr;
        ProgramName = programName;
    }

    /// <summary>The short program name every message starts with (<c>program_invocation_short_name</c>).</summary>
    public string ProgramName { get; }

    public MemoryStream Buffered { get; } = new();

    public MemoryStream Direct { get; } = new();

    public static void Write(Stream stream, string latin1Text)
    {
        byte[] bytes = ProcessArguments.Bytes.GetBytes(latin1Text);
        stream.Write(bytes);
    }

    public void Out(string text) => Write(Buffered, text);

    public void OutRaw(ReadOnlySpan<byte> bytes) => Buffered.Write(bytes);

    public void Print(string text) => Write(Direct, text);

    /// <summary>Writes <see cref="Direct"/> to stdout now (watch prints each event as it comes).</summary>
    public void FlushDirect()
    {
        _stdout.Write(Direct.GetBuffer(), 0, (int)Direct.Length);
        _stdout.Flush();
        Direct.SetLength(0);
    }

    public void FlushBuffered()
    {
        _stdout.Write(Buffered.GetBuffer(), 0, (int)Buffered.Length);
        _stdout.Flush();
        Buffered.SetLength(0);
    }

    /// <summary>An error line without a program prefix (xenstore-control's style).</summary>
    public void ErrorLine(string text)
    {
        FlushDirect();
        Write(_stderr, text + "\n");
        _stderr.Flush();
    }

    /// <summary><c>warnx</c>: "prog: message".</summary>
    public void Warn(string message) => ErrorLine($"{ProgramName}: {message}");

    /// <summary><c>errx</c>: prints like <see cref="Warn"/>, then exits with <paramref name="code"/>.</summary>
    public CliExitException Fail(int code, string message)
    {
        Warn(message);
        return new CliExitException(code);
    }
}

/// <summary>Ends the tool with an exit code once its message is printed (the <c>exit()</c> inside <c>errx</c>).</summary>
internal sealed class CliExitException(int code) : Exception($"exit {code}")
{
    public int Code { get; } = code;
}
