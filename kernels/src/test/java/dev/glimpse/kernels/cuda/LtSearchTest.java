package dev.glimpse.kernels.cuda;

import dev.glimpse.kernels.DType;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Which cuBLASLt search {@code -Dglimpse.cuda.ltSearch} selects, and where its choices are stored. CPU-only. */
class LtSearchTest {

    private static LtProblem problem(int m) {
        return new LtProblem(m, 4096, 4096, DType.BF16, 4096, 1, 0, 0, 0, false, false, 256, 256, 256,
                LtProblem.Output.F32).bucketed();
    }

    private static LtSearch of(Map<String, String> properties) {
        return LtSearch.fromProperties(properties::get, LtSearch.WIDE_BY_DEFAULT_MAJOR);
    }

    @Test
    void theDefaultIsTheWideSearch() {
        LtSearch search = of(Map.of());
        assertTrue(search.wide());
        assertTrue(search.widens(problem(74)));
        assertEquals(search, of(Map.of(LtSearch.PROPERTY, "wide")));
    }

    @Test
    void otherArchitecturesSearchWideOnlyWhenAsked() {
        assertFalse(LtSearch.fromProperties(Map.<String, String>of()::get, 8).wide(), "Ampere/Ada: heuristic by default");
        assertFalse(LtSearch.fromProperties(Map.<String, String>of()::get, 10).wide(), "Blackwell: heuristic by default");
        assertTrue(LtSearch.fromProperties(Map.of(LtSearch.PROPERTY, "wide")::get, 8).wide());
    }

    @Test
    void theHeuristicSearchKeepsTheUnsuffixedKeys() {
        LtSearch search = of(Map.of(LtSearch.PROPERTY, "heuristic"));
        assertFalse(search.wide());
        assertFalse(search.widens(problem(74)));
        assertEquals(problem(74).cacheKey(), search.storeKey(problem(74)));
    }

    @Test
    void wideSkinnyProblemsAreStoredUnderTheirOwnKey() {
        LtSearch search = of(Map.of(LtSearch.PROPERTY, "wide"));
        assertTrue(search.widens(problem(74)));
        assertEquals(problem(74).cacheKey() + LtSearch.WIDE_KEY_SUFFIX, search.storeKey(problem(74)));
    }

    @Test
    void rowsBeyondTheCapKeepTheDefaultSearchAndItsKeys() {
        LtSearch search = of(Map.of(LtSearch.PROPERTY, "wide"));
        assertFalse(search.widens(problem(586)), "586 rows are in the 1024 bucket, beyond 256");
        assertEquals(problem(586).cacheKey(), search.storeKey(problem(586)));
        assertTrue(of(Map.of(LtSearch.PROPERTY, "wide", LtSearch.MAX_ROWS_PROPERTY, "1024")).widens(problem(586)));
    }

    @Test
    void theLimitsComeFromTheirProperties() {
        LtSearch search = of(Map.of(LtSearch.PROPERTY, "WIDE", LtSearch.MAX_CANDIDATES_PROPERTY, "32",
                LtSearch.MAX_MILLIS_PROPERTY, "500"));
        assertEquals(new LtSearch(true, false, LtSearch.DEFAULT_MAX_ROWS, 32, 500), search);
    }

    @Test
    void anUnknownSearchOrABadLimitNamesTheProperty() {
        IllegalArgumentException kind = assertThrows(IllegalArgumentException.class,
                () -> of(Map.of(LtSearch.PROPERTY, "exhaustive")));
        assertTrue(kind.getMessage().contains(LtSearch.PROPERTY), kind.getMessage());
        IllegalArgumentException limit = assertThrows(IllegalArgumentException.class,
                () -> of(Map.of(LtSearch.PROPERTY, "wide", LtSearch.MAX_MILLIS_PROPERTY, "0")));
        assertTrue(limit.getMessage().contains(LtSearch.MAX_MILLIS_PROPERTY), limit.getMessage());
    }

    @Test
    void rotationTimingIsStoredUnderItsOwnKeyForEitherSearch() {
        LtSearch rotate = of(Map.of(LtSearch.PROPERTY, "heuristic", LtSearch.TIMING_PROPERTY, "rotate"));
        assertTrue(rotate.rotate());
        assertEquals(problem(586).cacheKey() + LtSearch.ROTATE_KEY_SUFFIX, rotate.storeKey(problem(586)));
        LtSearch both = of(Map.of(LtSearch.PROPERTY, "wide", LtSearch.TIMING_PROPERTY, "rotate"));
        assertEquals(problem(74).cacheKey() + LtSearch.WIDE_KEY_SUFFIX + LtSearch.ROTATE_KEY_SUFFIX,
                both.storeKey(problem(74)));
        assertFalse(of(Map.of(LtSearch.TIMING_PROPERTY, "flush")).rotate());
        assertThrows(IllegalArgumentException.class, () -> of(Map.of(LtSearch.TIMING_PROPERTY, "cold")));
    }

    @Test
    void rotationCopiesMakeTwiceTheL2PassBetweenTwoReadsOfOneCopy() {
        long l2 = 50L << 20;
        assertEquals(5, LtSearch.rotationCopies(32L << 20, l2), "o_proj, 32 MiB: 4 others stream 128 MiB >= 100 MiB");
        assertEquals(3, LtSearch.rotationCopies(90L << 20, l2), "down, 90 MiB: 2 others stream 180 MiB");
        assertEquals(1, LtSearch.rotationCopies(180L << 20, l2), "gate_up, 180 MiB, evicts its own reads");
        assertEquals(LtSearch.MAX_ROTATION_COPIES, LtSearch.rotationCopies(1L << 16, l2), "tiny weights: capped");
    }
}
