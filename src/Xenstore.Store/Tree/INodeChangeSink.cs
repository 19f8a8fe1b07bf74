namespace Xenstore.Store.Tree;

/// <summary>Observes the changes made to a tree, in the order they are made.</summary>
internal interface INodeChangeSink
{
    void OnChange(in NodeChange change);
}
