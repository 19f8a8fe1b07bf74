namespace Xenstore.Interop.Tests;
