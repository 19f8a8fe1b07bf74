using Xenstore.Protocol;
using Xenstore.Store.Domains;

namespace Xenstore.Store.Tests.Domains;

public sealed class DomainTableTests
{
    private static DomainTable NewTable() => new(new QuotaSet(), XsServerFeatures.Error);

    [Fact]
    public void Charge_CreatesTheRecord_AndDropsItWhenNothingIsLeft()
    {
        DomainTable table = NewTable();
        table.Charge(7, Accounted.Nodes, 2);
        table.Charge(7, Accounted.Watches, 1);
        Assert.Equal(2, table.Usage(7, Accounted.Nodes));
        Assert.Equal(1, table.Usage(7, Accounted.Watches));

        table.Charge(7, Accounted.Nodes, -2);
        Assert.True(table.Contains(7));
        table.Charge(7, Accounted.Watches, -1);
        Assert.False(table.Contains(7));
    }

    [Fact]
    public void Charge_KeepsARecordThatHoldsMoreThanUsage()
    {
        DomainTable table = NewTable();
        table.GetOrAdd(3).Introduced = true;
        table.Charge(3, Accounted.Transactions, 1);
        table.Charge(3, Accounted.Transactions, -1);
        Assert.True(table.IsIntroduced(3));
    }

    [Fact]
    public void Reads_NeverCreateRecords()
    {
        DomainTable table = NewTable();
        Assert.Equal(0, table.Usage(9, Accounted.Nodes));
        Assert.Equal(1000, table.QuotaFor(9, Quota.Nodes));
        Assert.Equal(XsServerFeatures.Error, table.FeaturesOf(9));
        Assert.Null(table.TargetOf(9));
        Assert.False(table.IsIntroduced(9));
        Assert.Empty(table.All);
    }

    [Fact]
    public void QuotaFor_PrefersTheDomainOverride()
    {
        DomainTable table = NewTable();
        table.GetOrAdd(4).QuotaOverrides[Quota.Watches] = 3;
        Assert.Equal(3, table.QuotaFor(4, Quota.Watches));
        Assert.Equal(128, table.QuotaFor(5, Quota.Watches));
    }

    [Theory]
    [InlineData(10, 10, true)]
    [InlineData(10, 11, false)]
    [InlineData(0, 1_000_000, true)]
    public void Allows_IsAnInclusiveMaximum_AndZeroIsUnlimited(long limit, long wanted, bool allowed)
    {
        DomainTable table = NewTable();
        table.GlobalQuotas[Quota.Nodes] = limit;
        Assert.Equal(allowed, table.Allows(1, Quota.Nodes, wanted));
    }

    [Fact]
    public void GlobalQuotas_AreACopyOfTheInitialValues()
    {
        var initial = new QuotaSet();
        var table = new DomainTable(initial, XsServerFeatures.Error);
        table.GlobalQuotas[Quota.Nodes] = 5;
        Assert.Equal(1000, initial[Quota.Nodes]);
        Assert.Equal(5, table.QuotaFor(1, Quota.Nodes));
    }

    [Fact]
    public void DropIfEmpty_KeepsARecordWithFeaturesSet()
    {
        DomainTable table = NewTable();
        Domain domain = table.GetOrAdd(2);
        Assert.True(table.DropIfEmpty(domain));
        domain = table.GetOrAdd(2);
        domain.FeaturesSet = true;
        Assert.False(table.DropIfEmpty(domain));
        Assert.True(table.Contains(2));
    }
}
