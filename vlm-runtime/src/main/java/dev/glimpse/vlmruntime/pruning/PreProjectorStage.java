package dev.glimpse.vlmruntime.pruning;

import dev.glimpse.tokenpruning.TokenSelection;
import dev.glimpse.tokenpruning.trace.PruningTrace;
import dev.glimpse.vlmruntime.llava.ProjectorInputHook;

import java.util.List;

/**
 * One request's stage at hook point 2 (between the vision tower and the decoder), as
 * {@link RequestPruning} drives it: the model calls it as a {@link ProjectorInputHook}, then the
 * request reads what each encoded picture became for the decoder stages and the trace.
 */
interface PreProjectorStage extends ProjectorInputHook {

    /**
     * What each encoded picture kept, in encoding order: cells of its original grid for a
     * selection, or every cell of the new grid for a feature transform (pooling, resizing).
     */
    List<TokenSelection> selections();

    /** The trace stage of this request. */
    PruningTrace.Stage traceStage();
}
