package dev.glimpse.kernels.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** {@link PropertyChoice}: blank means the default, names match trimmed and in any case, others are refused by name. */
class PropertyChoiceTest {

    private enum Shape {
        SMALL("small"), LARGE("large");

        private final String id;

        Shape(String id) {
            this.id = id;
        }

        String id() {
            return id;
        }
    }

    private static Shape parse(String id) {
        return PropertyChoice.parse("glimpse.test.shape", id, Shape.LARGE, Shape.values(), Shape::id, "test shape");
    }

    @Test
    void nullOrBlankGivesTheFallback() {
        assertEquals(Shape.LARGE, parse(null));
        assertEquals(Shape.LARGE, parse(" \t"));
    }

    @Test
    void namesMatchTrimmedInAnyCase() {
        assertEquals(Shape.SMALL, parse(" Small "));
        assertEquals(Shape.LARGE, parse("LARGE"));
    }

    @Test
    void anUnknownNameIsRefusedWithThePropertyAndTheKnownNames() {
        CudaException e = assertThrows(CudaException.class, () -> parse("medium"));
        assertEquals("-Dglimpse.test.shape=medium names no test shape; known: small, large", e.getMessage());
    }
}
