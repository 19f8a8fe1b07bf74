namespace Xenstore.Server.Pipeline;

/// <summary>
/// A connection that stopped executing its input at the end of its turn (<see cref="BatchPipeline.HoldOver"/>):
/// the next batch, which then comes without waiting, lets it go on.
/// </summary>
internal interface IHeldInput
{
    /// <summary>Store thread, in the next batch: executes the next turn of the input held over.</summary>
    void ContinueInput();
}
