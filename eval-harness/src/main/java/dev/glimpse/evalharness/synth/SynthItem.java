package dev.glimpse.evalharness.synth;

import java.util.List;

/** One benchmark medium with its questions: a scene or a clip. */
public sealed interface SynthItem {

    /** The scene's or clip's id. */
    String id();

    List<SynthQuestion> questions();

    /** A scene and its questions. */
    record SceneItem(Scene scene, List<SynthQuestion> questions) implements SynthItem {
        public SceneItem {
            questions = List.copyOf(questions);
        }

        @Override
        public String id() {
            return scene.id();
        }
    }

    /** A clip and its questions. */
    record ClipItem(Clip clip, List<SynthQuestion> questions) implements SynthItem {
        public ClipItem {
            questions = List.copyOf(questions);
        }

        @Override
        public String id() {
            return clip.id();
        }
    }
}
