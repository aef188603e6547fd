using SaeMl.Data;

namespace SaeMl.Tests.Data;

public sealed class SparseCodesTests
{
    [Fact]
    public void Concatenate_keeps_every_row_in_order_and_refuses_batches_of_different_widths()
    {
        var first = new SparseCodes(2, 2, [1f, 2f, 3f, 4f], [0, 5, 1, 2]);
        var second = new SparseCodes(1, 2, [5f, 6f], [3, 4]);

        var all = SparseCodes.Concatenate([first, second]);

        all.Rows.Should().Be(3);
        all.IndicesOf(2).ToArray().Should().Equal(3, 4);
        all.ValuesOf(1).ToArray().Should().Equal(3f, 4f);
        var mixed = () => SparseCodes.Concatenate([first, new SparseCodes(1, 3, [1f, 1f, 1f], [0, 1, 2])]);
        mixed.Should().Throw<ArgumentException>().WithMessage("Batches keep 2 and 3 latents per row*");
    }
}
