package dev.glimpse.evalharness.synth;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Scenes and clips as JSON-ready maps (the {@code truth} field of exported rows), so training code
 * sees exactly what the generator drew: per object its shape, colour, size class, fill and
 * bounding box {@code [x, y, width, height]}; for clips, the tracks and the objects visible in
 * every frame.
 */
public final class GroundTruthJson {

    private GroundTruthJson() {
    }

    public static Map<String, Object> scene(Scene scene) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("width", scene.width());
        out.put("height", scene.height());
        out.put("background", background(scene.background()));
        out.put("objects", scene.objects().stream().map(GroundTruthJson::object).toList());
        return out;
    }

    public static Map<String, Object> clip(Clip clip) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("width", clip.width());
        out.put("height", clip.height());
        out.put("frames", clip.frames());
        out.put("fps", clip.fps());
        out.put("background", background(clip.background()));
        out.put("needle", clip.needle());
        List<Map<String, Object>> tracks = new ArrayList<>();
        for (Track t : clip.tracks()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("shape", t.object().shape().word());
            m.put("color", t.object().color().word());
            m.put("size", t.object().size().word());
            m.put("first_frame", t.firstFrame());
            m.put("last_frame", t.lastFrame());
            tracks.add(m);
        }
        out.put("tracks", tracks);
        List<List<Map<String, Object>>> perFrame = new ArrayList<>();
        for (int f = 0; f < clip.frames(); f++) {
            List<Map<String, Object>> visible = new ArrayList<>();
            for (int i = 0; i < clip.tracks().size(); i++) {
                int track = i;
                clip.tracks().get(i).at(f).ifPresent(o -> {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("track", track);
                    m.put("bbox", bbox(o.box()));
                    visible.add(m);
                });
            }
            perFrame.add(visible);
        }
        out.put("frame_objects", perFrame);
        return out;
    }

    private static Map<String, Object> object(SceneObject o) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("shape", o.shape().word());
        m.put("color", o.color().word());
        m.put("size", o.size().word());
        m.put("fill", hex(o.fill()));
        m.put("bbox", bbox(o.box()));
        m.put("center", List.of(round(o.centerX()), round(o.centerY())));
        return m;
    }

    private static Map<String, Object> background(Background b) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("style", b.style().word());
        m.put("colors", List.of(hex(b.colorA()), hex(b.colorB())));
        return m;
    }

    private static List<Integer> bbox(BoundingBox b) {
        return List.of(b.x(), b.y(), b.width(), b.height());
    }

    private static String hex(int rgb) {
        return String.format(Locale.ROOT, "#%06x", rgb);
    }

    private static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }
}
