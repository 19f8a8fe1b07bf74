namespace Xenstore.Server.Tests;

/// <summary>Waits for what another process or thread brings about, failing the test when it does not come in time.</summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<bool> condition, TimeSpan within, string what = "condition not reached")
    {
        var deadline = DateTime.UtcNow + within;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, what);
            await Task.Delay(5);
        }
    }
}
