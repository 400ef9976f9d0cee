package dev.glimpse.tokenpruning;

/** Where a visual token came from: its frame (0 for a single image) and its patch cell. */
public record TokenOrigin(int frame, int row, int col) {
}
