package dev.glimpse.vlmruntime.decoder;

import dev.glimpse.vlmruntime.SavedProperties;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The KV capacity a session allocates for the length it asks for ({@link CapacityBuckets}). */
class CapacityBucketsTest {

    private final SavedProperties saved = SavedProperties.of(CapacityBuckets.PROPERTY);

    @AfterEach
    void restoreProperty() {
        saved.close();
    }

    @Test
    void aStepOfZeroAllocatesExactlyWhatIsAsked() {
        assertEquals(1, CapacityBuckets.capacity(1, 0));
        assertEquals(333, CapacityBuckets.capacity(333, 0));
    }

    @Test
    void requestsRoundUpToTheNextMultipleOfTheStep() {
        assertEquals(256, CapacityBuckets.capacity(1, 256));
        assertEquals(256, CapacityBuckets.capacity(150, 256));
        assertEquals(256, CapacityBuckets.capacity(256, 256));
        assertEquals(512, CapacityBuckets.capacity(257, 256));
    }

    @Test
    void aRequestNeverGetsLessThanItAskedFor() {
        for (int requested = 1; requested < 2000; requested += 7) {
            int capacity = CapacityBuckets.capacity(requested, 256);
            assertEquals(true, capacity >= requested && capacity - requested < 256, requested + " -> " + capacity);
        }
        assertEquals(Integer.MAX_VALUE - 3, CapacityBuckets.capacity(Integer.MAX_VALUE - 3, 256));
    }

    @Test
    void thePropertyIsReadAtEveryCallAndDefaultsTo256() {
        System.clearProperty(CapacityBuckets.PROPERTY);
        assertEquals(256, CapacityBuckets.capacity(100));
        System.setProperty(CapacityBuckets.PROPERTY, " ");
        assertEquals(256, CapacityBuckets.capacity(100), "blank is unset");
        System.setProperty(CapacityBuckets.PROPERTY, "0");
        assertEquals(100, CapacityBuckets.capacity(100));
        System.setProperty(CapacityBuckets.PROPERTY, "128");
        assertEquals(128, CapacityBuckets.capacity(100));
        System.setProperty(CapacityBuckets.PROPERTY, "-1");
        assertThrows(IllegalArgumentException.class, () -> CapacityBuckets.capacity(100));
        System.setProperty(CapacityBuckets.PROPERTY, "lots");
        assertThrows(IllegalArgumentException.class, () -> CapacityBuckets.capacity(100));
    }
}
