package dev.glimpse.vlmruntime.llava;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.glimpse.kernels.image.RgbImage;
import dev.glimpse.kernels.io.SafetensorsFile;
import dev.glimpse.videoingest.ImageDecoder;
import dev.glimpse.videoingest.MediaLimits;
import dev.glimpse.videoingest.VideoSource;
import dev.glimpse.vlmruntime.decoder.DecoderFixture;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** A fixtures/llava-* folder (tools/fixtures/make_fixtures.py) with HF's expected outputs per case. */
record LlavaFixture(Path folder, JsonNode expected) {

    static LlavaFixture open(String name) {
        Path folder = DecoderFixture.folder(name);
        try {
            return new LlavaFixture(folder, new ObjectMapper().readTree(folder.resolve("expected.json").toFile()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    int cases() {
        return expected.get("cases").size();
    }

    JsonNode testCase(int i) {
        return expected.get("cases").get(i);
    }

    /** The case's pictures decoded from the PNGs in the folder, as the product decodes them. */
    VisualInput visualInput(int i) {
        JsonNode c = testCase(i);
        if (c.has("video_frames")) {
            return new VisualInput.Video(decode(c.get("video_frames")));
        }
        return new VisualInput.Images(decode(c.get("images")));
    }

    private List<RgbImage> decode(JsonNode files) {
        List<RgbImage> out = new ArrayList<>();
        for (JsonNode f : files) {
            out.add(ImageDecoder.decode(VideoSource.of(folder.resolve(f.asText())), MediaLimits.DEFAULTS));
        }
        return out;
    }

    float[] array(String name) {
        try (SafetensorsFile file = SafetensorsFile.open(folder.resolve("expected.safetensors"))) {
            return file.tensor(name).toFloatArray();
        }
    }

    int[] inputIds(int i) {
        float[] ids = array("case" + i + ".input_ids");
        int[] out = new int[ids.length];
        for (int k = 0; k < ids.length; k++) {
            out[k] = (int) ids[k];
        }
        return out;
    }
}
