package dev.glimpse.tokenpruning.trace;

import com.fasterxml.jackson.annotation.JsonFormat;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.glimpse.tokenpruning.HookPoint;
import dev.glimpse.tokenpruning.TokenSelection;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * What pruning did to one answer (ARCHITECTURE.md, "Pruning trace"): per stage, which (frame,
 * row, col) tokens survived, their scores, the per-frame budgets and the frame scores. Serialises
 * to JSON for {@code --json} answers and for {@code glimpse explain}, which draws it.
 *
 * <p>JSON shape: {@code {"stages":[{"name","strategy","hookPoint","layer","budget","frameScores",
 * "frames":[{"frame","rows","cols","budget","kept":[[row,col],...],"scores":[...]}]}]}}.
 * {@code layer} is the encoder block or decoder layer after which the stage pruned (absent before
 * the projector); {@code budget} is absent for adaptive strategies; {@code scores} covers the whole
 * grid in raster order with null for tokens the stage did not score (already pruned), and is
 * absent when the strategy ranks by no score.
 */
public record PruningTrace(List<Stage> stages) {

    private static final ObjectMapper JSON = new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    public PruningTrace {
        stages = List.copyOf(stages);
    }

    public static PruningTrace empty() {
        return new PruningTrace(List.of());
    }

    /** This trace with {@code stage} appended. */
    public PruningTrace with(Stage stage) {
        List<Stage> s = new ArrayList<>(stages);
        s.add(stage);
        return new PruningTrace(s);
    }

    public String toJson() {
        try {
            return JSON.writeValueAsString(this);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("pruning trace cannot be written as JSON", e);
        }
    }

    public static PruningTrace fromJson(String json) {
        try {
            return JSON.readValue(json, PruningTrace.class);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException("not a pruning trace: " + e.getOriginalMessage(), e);
        }
    }

    /**
     * One pruning stage.
     *
     * @param name        stage label, e.g. "vtc-cls" or "spatten@layer8"
     * @param strategy    strategy name as selected with {@code --prune}
     * @param hookPoint   where it ran
     * @param layer       encoder block or decoder layer after which it pruned; null before the projector
     * @param budget      tokens the stage was asked to keep over all frames together (decoder
     *                    stages with a count); null when budgets are per frame or adaptive
     * @param frames      survivors per frame
     * @param frameScores per-frame relevance (QuoTA's p_t), or empty
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Stage(String name, String strategy, HookPoint hookPoint, Integer layer, Integer budget,
                        List<FrameTrace> frames, List<Double> frameScores) {
        public Stage {
            frames = frames == null ? List.of() : List.copyOf(frames);
            frameScores = frameScores == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(frameScores));
        }

        /** A stage from per-frame selections; {@code budgets[i]} for selection i, or null when adaptive. */
        public static Stage of(String name, String strategy, HookPoint hookPoint, Integer layer,
                               List<TokenSelection> selections, int[] budgets) {
            List<FrameTrace> frames = new ArrayList<>(selections.size());
            for (int i = 0; i < selections.size(); i++) {
                frames.add(FrameTrace.of(selections.get(i), budgets == null ? null : budgets[i]));
            }
            return new Stage(name, strategy, hookPoint, layer, null, frames, List.of());
        }

        public Stage withBudget(Integer total) {
            return new Stage(name, strategy, hookPoint, layer, total, frames, frameScores);
        }

        public Stage withFrameScores(double[] scores) {
            List<Double> s = new ArrayList<>(scores.length);
            for (double v : scores) {
                s.add(v);
            }
            return new Stage(name, strategy, hookPoint, layer, budget, frames, s);
        }
    }

    /**
     * Survivors of one frame at one stage.
     *
     * @param frame  frame index
     * @param rows   grid rows
     * @param cols   grid columns
     * @param budget tokens asked for, or null for adaptive strategies
     * @param kept   surviving cells in raster order
     * @param scores score per grid cell in raster order (null entries: not scored), or null
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    @JsonPropertyOrder({"frame", "rows", "cols", "budget", "kept", "scores"})
    public record FrameTrace(int frame, int rows, int cols, Integer budget, List<Cell> kept, List<Float> scores) {
        public FrameTrace {
            kept = List.copyOf(kept);
            scores = scores == null ? null : Collections.unmodifiableList(new ArrayList<>(scores));
        }

        public static FrameTrace of(TokenSelection selection, Integer budget) {
            List<Cell> cells = new ArrayList<>(selection.count());
            for (int t : selection.kept()) {
                cells.add(new Cell(selection.grid().row(t), selection.grid().col(t)));
            }
            float[] s = selection.scores();
            List<Float> scores = null;
            if (s != null) {
                scores = new ArrayList<>(s.length);
                for (float v : s) {
                    scores.add(Float.isNaN(v) ? null : v);
                }
            }
            return new FrameTrace(selection.frame(), selection.grid().rows(), selection.grid().cols(), budget,
                    cells, scores);
        }
    }

    /** A grid cell, written as {@code [row, col]}. */
    @JsonFormat(shape = JsonFormat.Shape.ARRAY)
    @JsonPropertyOrder({"row", "col"})
    public record Cell(int row, int col) {
    }
}
