namespace Xenstore.Store.Tree;

/// <summary>Hands every change to a fixed list of observers, in the order given at construction.</summary>
internal sealed class ChangeFeed(params INodeChangeSink[] observers) : INodeChangeSink
{
    public void OnChange(in NodeChange change)
    {
        foreach (INodeChangeSink observer in observers)
        {
            observer.OnChange(change);
        }
    }
}
