package dev.glimpse.tokenpruning.accounting;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class PrefillAccountingTest {

    @Test
    void layerFlopsFollowThePapersFormula() {
        // n = 2, d = 3, m = 4: 4*2*9 + 2*4*3 + 2*2*3*4 = 72 + 24 + 48
        assertEquals(144, PrefillAccounting.layerFlops(2, 3, 4));
    }

    @Test
    void costUsesEachLayersOwnTokenCount() {
        PrefillAccounting.DecoderShape shape = new PrefillAccounting.DecoderShape(2, 3, 4);
        PrefillAccounting.PrefillCost c = PrefillAccounting.cost(shape, 1, 2, new int[] {2, 1});
        // pruned: n = 3 then 2; unpruned: 3 and 3
        double n3 = 4 * 3 * 9 + 2 * 9 * 3 + 2 * 3 * 3 * 4;
        double n2 = 144;
        assertEquals(n3 + n2, c.flops());
        assertEquals(2 * n3, c.unprunedFlops());
        assertEquals((n3 + n2) / (2 * n3), c.flopsRatio(), 1e-12);
        assertEquals(1.5, c.averageVisualTokens());
    }

    @Test
    void noPruningCostsTheSame() {
        PrefillAccounting.DecoderShape llava7b = new PrefillAccounting.DecoderShape(32, 4096, 11008);
        int[] all = new int[32];
        java.util.Arrays.fill(all, 576);
        assertEquals(1.0, PrefillAccounting.cost(llava7b, 40, 576, all).flopsRatio(), 1e-12);
    }
}
