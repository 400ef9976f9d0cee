package dev.glimpse.visionencoder.preprocess;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.kernels.Tensor;
import dev.glimpse.kernels.image.RgbImage;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * pixel_values of every processor against transformers 5.17's PIL-backend processors on
 * photographs: committed scaled copies of opencv-doc samples, and opencv-doc's PNG originals (and
 * crops of them) when the package is installed. Bit-exact float32 is proven by the SHA-256 of the
 * whole tensor; the reported max/mean absolute differences (in [0, 1] pixel units, i.e. divided by
 * 255 before normalisation) come from ~512 sampled elements, and are exactly 0 when the hash matches.
 */
class ProcessorParityTest {

    @TestFactory
    List<DynamicTest> pixelValuesMatchTransformers() {
        JsonNode root = PreprocessFixtures.json("processor_cases.json");
        List<DynamicTest> tests = new ArrayList<>();
        for (JsonNode c : root.get("cases")) {
            String name = c.get("config").asText() + " / " + c.get("image").asText()
                    + (c.get("multi_image").asBoolean() ? " (multi-image)" : "");
            tests.add(DynamicTest.dynamicTest(name, () -> check(root.get("originals"), c, name)));
        }
        return tests;
    }

    private static void check(JsonNode originals, JsonNode c, String name) throws Exception {
        RgbImage image = load(originals, c.get("image").asText());
        ImageProcessorConfig config = ImageProcessorConfig.load(
                PreprocessFixtures.dir().resolve("configs").resolve(c.get("config").asText()));
        ImageProcessor processor = ImageProcessor.of(config);
        try (ProcessedImage out = c.get("multi_image").asBoolean()
                ? assertInstanceOf(AnyResImageProcessor.class, processor).processWithoutTiling(image)
                : processor.process(image)) {
            Tensor pv = out.pixelValues();
            int[] shape = new int[c.get("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = c.get("shape").get(i).asInt();
            }
            assertArrayEquals(shape, pv.shape(), name + ": shape");
            if (c.hasNonNull("image_size")) {
                assertEquals(new Resolution(c.get("image_size").get(0).asInt(), c.get("image_size").get(1).asInt()),
                        out.imageSize(), name + ": image_sizes");
            }
            float[] values = pv.toFloatArray();
            int stride = c.get("sample_stride").asInt();
            int plane = shape[shape.length - 1] * shape[shape.length - 2];
            double maxDiff = 0;
            double sumDiff = 0;
            JsonNode samples = c.get("samples");
            for (int s = 0; s < samples.size(); s++) {
                int index = s * stride;
                double std = config.doNormalize() ? config.imageStd().get((index / plane) % 3) : 1.0;
                double scale = config.doRescale() ? 1.0 : 1.0 / 255;
                double d = Math.abs(values[index] - (float) samples.get(s).asDouble()) * std * scale;
                maxDiff = Math.max(maxDiff, d);
                sumDiff += d;
            }
            String hash = sha256(values);
            boolean exact = hash.equals(c.get("sha256").asText());
            System.out.printf("parity %-50s %s bit-exact=%b, max|diff| %.3g, mean|diff| %.3g ([0,1] units)%n",
                    name, java.util.Arrays.toString(shape), exact, maxDiff, sumDiff / samples.size());
            assertEquals(0.0, maxDiff, name + ": sampled values differ");
            assertEquals(c.get("sha256").asText(), hash, name + ": float32 pixel_values differ from transformers'");
        }
    }

    private static RgbImage load(JsonNode originals, String image) {
        Path committed = PreprocessFixtures.dir().resolve("images").resolve(image + ".png");
        if (Files.exists(committed)) {
            return PreprocessFixtures.readPng(committed);
        }
        JsonNode spec = originals.get(image);
        Path file = PreprocessFixtures.OPENCV_DATA.resolve(spec.get("file").asText());
        assumeTrue(Files.exists(file), file + " is missing: install Debian's opencv-doc package to run this case");
        RgbImage full = PreprocessFixtures.readPng(file);
        JsonNode crop = spec.get("crop");
        if (crop == null || crop.isNull()) {
            return full;
        }
        return PixelOps.region(full, crop.get(0).asInt(), crop.get(1).asInt(), crop.get(2).asInt(), crop.get(3).asInt());
    }

    private static String sha256(float[] values) throws NoSuchAlgorithmException {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes.array()));
    }
}
