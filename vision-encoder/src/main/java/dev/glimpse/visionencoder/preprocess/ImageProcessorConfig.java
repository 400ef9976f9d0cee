package dev.glimpse.visionencoder.preprocess;

import com.fasterxml.jackson.databind.JsonNode;
import dev.glimpse.kernels.io.ConfigException;
import dev.glimpse.kernels.io.HfJson;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * An image processor's settings as transformers 5.17 reads them from {@code preprocessor_config.json}
 * or from the {@code "image_processor"} object of {@code processor_config.json} (which wins when
 * both exist, as in {@code ImageProcessingMixin.get_image_processor_dict}).
 *
 * <p>Absent keys, and keys set to {@code null} (transformers' {@code _set_attributes} treats
 * {@code None} as "use the class default"), take the defaults of the class named by
 * {@code image_processor_type}:
 * <table>
 *   <caption>class defaults</caption>
 *   <tr><th>key</th><th>CLIPImageProcessor</th><th>SiglipImageProcessor</th><th>LlavaOnevisionImageProcessor</th></tr>
 *   <tr><td>size</td><td>{shortest_edge: 224}</td><td>{height: 224, width: 224}</td><td>{height: 384, width: 384}</td></tr>
 *   <tr><td>do_center_crop / crop_size</td><td>true / 224x224</td><td>false / none</td><td>false / none</td></tr>
 *   <tr><td>image_mean, image_std</td><td>OPENAI_CLIP</td><td>0.5, 0.5</td><td>OPENAI_CLIP</td></tr>
 *   <tr><td>do_pad</td><td>false</td><td>false</td><td>true</td></tr>
 *   <tr><td>image_grid_pinpoints</td><td>-</td><td>-</td><td>384..2304 step 384, both sides (36)</td></tr>
 * </table>
 * All three: do_resize, do_rescale, do_normalize, do_convert_rgb true; resample 3 (BICUBIC);
 * rescale_factor 1/255; default_to_square false. {@code size} and {@code crop_size} may also be
 * an int or a {@code [height, width]} list, converted as {@code get_size_dict} does (an int
 * {@code size} is a shortest edge unless {@code default_to_square} is true; an int
 * {@code crop_size} is square).
 *
 * @param source            the file read (for error messages)
 * @param cropSize          empty when unset or not a height/width size
 * @param padSize           {@code pad_size} ({@code do_pad} for CLIP/SigLIP pads to it; without it,
 *                          padding a single image is a no-op)
 * @param imageGridPinpoints the anyres candidate resolutions; empty for CLIP and SigLIP
 */
public record ImageProcessorConfig(Path source, ImageProcessorType type, boolean doResize, SizeSpec size,
                                   ResampleFilter resample, boolean doCenterCrop, Optional<Resolution> cropSize,
                                   boolean doRescale, double rescaleFactor, boolean doNormalize,
                                   List<Double> imageMean, List<Double> imageStd, boolean doConvertRgb,
                                   boolean doPad, Optional<Resolution> padSize,
                                   List<Resolution> imageGridPinpoints) {

    public static final String PREPROCESSOR_CONFIG = "preprocessor_config.json";
    public static final String PROCESSOR_CONFIG = "processor_config.json";

    private static final List<Set<String>> VALID_SIZE_KEYS = List.of(
            Set.of("height", "width"), Set.of("shortest_edge"), Set.of("shortest_edge", "longest_edge"),
            Set.of("longest_edge"), Set.of("max_height", "max_width"), Set.of("min_pixels", "max_pixels"));

    public ImageProcessorConfig {
        imageMean = List.copyOf(imageMean);
        imageStd = List.copyOf(imageStd);
        imageGridPinpoints = List.copyOf(imageGridPinpoints);
    }

    /**
     * Reads the image processor settings of a model folder: {@code processor_config.json}'s
     * {@code image_processor} object if present, else {@code preprocessor_config.json}.
     *
     * @throws ConfigException naming the file and key when neither exists or a value is malformed
     */
    public static ImageProcessorConfig load(Path modelDir) {
        Path processorFile = modelDir.resolve(PROCESSOR_CONFIG);
        if (Files.isRegularFile(processorFile)) {
            Optional<HfJson> nested = HfJson.read(processorFile).optObject("image_processor");
            if (nested.isPresent()) {
                return parse(nested.get());
            }
        }
        Path preprocessorFile = modelDir.resolve(PREPROCESSOR_CONFIG);
        if (!Files.isRegularFile(preprocessorFile)) {
            throw new ConfigException(modelDir + ": no " + PREPROCESSOR_CONFIG + " and no " + PROCESSOR_CONFIG
                    + " with an \"image_processor\" object; the model folder needs its image processor config");
        }
        return parse(HfJson.read(preprocessorFile));
    }

    /** Parses one image processor object (a whole preprocessor_config.json or a nested object). */
    public static ImageProcessorConfig parse(HfJson json) {
        ImageProcessorType type = typeOf(json);
        boolean clip = type == ImageProcessorType.CLIP;
        boolean defaultToSquare = json.boolOr("default_to_square", false);

        SizeSpec defaultSize = switch (type) {
            case CLIP -> new SizeSpec.ShortestEdge(224);
            case SIGLIP -> new SizeSpec.FixedSize(224, 224);
            case LLAVA_ONEVISION -> new SizeSpec.FixedSize(384, 384);
        };
        SizeSpec size = json.has("size") ? sizeSpec(json, sizeDict(json, "size", defaultToSquare)) : defaultSize;

        Map<String, Integer> cropDict = json.has("crop_size") ? sizeDict(json, "crop_size", true)
                : clip ? Map.of("height", 224, "width", 224) : Map.of();
        Optional<Resolution> cropSize = heightWidth(cropDict);
        boolean doCenterCrop = json.boolOr("do_center_crop", clip);
        if (doCenterCrop && cropSize.isEmpty()) {
            throw json.error("crop_size", "must be a {height, width} size when do_center_crop is true (got "
                    + (cropDict.isEmpty() ? "none" : cropDict.keySet()) + ")");
        }
        Optional<Resolution> padSize = json.has("pad_size")
                ? Optional.of(heightWidth(sizeDict(json, "pad_size", true))
                        .orElseThrow(() -> json.error("pad_size", "must have height and width")))
                : Optional.empty();

        List<Double> defaultStats = type == ImageProcessorType.SIGLIP ? ImageProcessorType.IMAGENET_STANDARD : null;
        List<Double> mean = channelValues(json, "image_mean",
                defaultStats != null ? defaultStats : ImageProcessorType.OPENAI_CLIP_MEAN, false);
        List<Double> std = channelValues(json, "image_std",
                defaultStats != null ? defaultStats : ImageProcessorType.OPENAI_CLIP_STD, true);

        double rescaleFactor = json.doubleOr("rescale_factor", 1.0 / 255);
        if (!Double.isFinite(rescaleFactor)) {
            throw json.error("rescale_factor", "must be a finite number");
        }
        List<Resolution> pinpoints = type == ImageProcessorType.LLAVA_ONEVISION
                ? (json.has("image_grid_pinpoints") ? pinpoints(json) : defaultPinpoints())
                : List.of();

        return new ImageProcessorConfig(json.file(), type,
                json.boolOr("do_resize", true), size, resample(json),
                doCenterCrop, cropSize,
                json.boolOr("do_rescale", true), rescaleFactor,
                json.boolOr("do_normalize", true), mean, std,
                json.boolOr("do_convert_rgb", true),
                json.boolOr("do_pad", type == ImageProcessorType.LLAVA_ONEVISION), padSize, pinpoints);
    }

    private static ImageProcessorType typeOf(HfJson json) {
        String key = json.has("image_processor_type") ? "image_processor_type" : "feature_extractor_type";
        String name = json.optString(key).orElseThrow(() -> json.error("image_processor_type",
                "is missing; expected one of " + supportedNames()));
        String className = key.equals("feature_extractor_type") && name.endsWith("FeatureExtractor")
                ? name.substring(0, name.length() - "FeatureExtractor".length()) + "ImageProcessor"
                : name;
        ImageProcessorType type = ImageProcessorType.fromClassName(className);
        if (type == null) {
            throw json.error(key, "is '" + name + "'; Glimpse implements " + supportedNames());
        }
        return type;
    }

    private static String supportedNames() {
        List<String> names = new ArrayList<>();
        for (ImageProcessorType t : ImageProcessorType.values()) {
            names.add(t.className());
        }
        return String.join(", ", names);
    }

    private static ResampleFilter resample(HfJson json) {
        if (!json.has("resample")) {
            return ResampleFilter.BICUBIC;
        }
        int code = json.requireInt("resample");
        return ResampleFilter.fromPilCode(code).orElseThrow(() -> json.error("resample", "is " + code + " ("
                + ResampleFilter.pilName(code) + "); Glimpse reproduces PIL's 2 (BILINEAR) and 3 (BICUBIC)"));
    }

    /** {@code get_size_dict}: an int, a [height, width] list or a dict with one of the valid key sets. */
    private static Map<String, Integer> sizeDict(HfJson json, String key, boolean defaultToSquare) {
        JsonNode v = json.raw(key).orElseThrow();
        Map<String, Integer> dict = new LinkedHashMap<>();
        if (v.isIntegralNumber()) {
            int s = json.requireInt(key);
            if (defaultToSquare) {
                dict.put("height", s);
                dict.put("width", s);
            } else {
                dict.put("shortest_edge", s);
            }
        } else if (v.isArray()) {
            List<Integer> hw = json.intList(key);
            if (hw.size() != 2) {
                throw json.error(key, "should be [height, width] but has " + hw.size() + " elements");
            }
            dict.put("height", hw.get(0));
            dict.put("width", hw.get(1));
        } else if (v.isObject()) {
            HfJson obj = json.optObject(key).orElseThrow();
            Iterator<String> names = v.fieldNames();
            while (names.hasNext()) {
                String name = names.next();
                dict.put(name, obj.requireInt(name));
            }
            if (!VALID_SIZE_KEYS.contains(dict.keySet())) {
                throw json.error(key, "has keys " + dict.keySet() + "; transformers accepts " + VALID_SIZE_KEYS);
            }
        } else {
            throw json.error(key, "should be an integer, a [height, width] list or an object but is " + v);
        }
        for (Map.Entry<String, Integer> e : dict.entrySet()) {
            if (e.getValue() <= 0) {
                throw json.error(key, "has " + e.getKey() + " = " + e.getValue() + "; sizes must be positive");
            }
        }
        return dict;
    }

    private static SizeSpec sizeSpec(HfJson json, Map<String, Integer> d) {
        Set<String> keys = d.keySet();
        if (keys.equals(Set.of("height", "width"))) {
            return new SizeSpec.FixedSize(d.get("height"), d.get("width"));
        }
        if (keys.equals(Set.of("shortest_edge"))) {
            return new SizeSpec.ShortestEdge(d.get("shortest_edge"));
        }
        if (keys.equals(Set.of("shortest_edge", "longest_edge"))) {
            return new SizeSpec.ShortestLongestEdge(d.get("shortest_edge"), d.get("longest_edge"));
        }
        throw json.error("size", "is " + d + "; Glimpse resizes with {height, width}, {shortest_edge} or "
                + "{shortest_edge, longest_edge} ({longest_edge} alone is rejected by transformers' resize too)");
    }

    private static Optional<Resolution> heightWidth(Map<String, Integer> d) {
        if (d.keySet().equals(Set.of("height", "width"))) {
            return Optional.of(new Resolution(d.get("height"), d.get("width")));
        }
        return Optional.empty();
    }

    /** A float or a list of three floats (one per channel); std values must not be zero. */
    private static List<Double> channelValues(HfJson json, String key, List<Double> fallback, boolean nonZero) {
        if (!json.has(key)) {
            return fallback;
        }
        JsonNode v = json.raw(key).orElseThrow();
        List<Double> values = new ArrayList<>();
        if (v.isNumber()) {
            double x = v.doubleValue();
            values.addAll(List.of(x, x, x));
        } else if (v.isArray() && v.size() == 3) {
            for (JsonNode e : v) {
                if (!e.isNumber()) {
                    throw json.error(key, "should hold numbers but is " + v);
                }
                values.add(e.doubleValue());
            }
        } else {
            throw json.error(key, "should be a number or a list of 3 numbers (R, G, B) but is " + v);
        }
        for (double x : values) {
            if (!Double.isFinite(x) || (nonZero && x == 0.0)) {
                throw json.error(key, "has " + x + "; values must be finite" + (nonZero ? " and non-zero" : ""));
            }
        }
        return values;
    }

    private static List<Resolution> pinpoints(HfJson json) {
        JsonNode v = json.raw("image_grid_pinpoints").orElseThrow();
        if (!v.isArray() || v.isEmpty()) {
            throw json.error("image_grid_pinpoints", "should be a non-empty list of [height, width] pairs");
        }
        List<Resolution> out = new ArrayList<>();
        for (int i = 0; i < v.size(); i++) {
            JsonNode p = v.get(i);
            if (!p.isArray() || p.size() != 2 || !p.get(0).canConvertToInt() || !p.get(1).canConvertToInt()
                    || !p.get(0).isIntegralNumber() || !p.get(1).isIntegralNumber()
                    || p.get(0).intValue() <= 0 || p.get(1).intValue() <= 0) {
                throw json.error("image_grid_pinpoints[" + i + "]", "should be [height, width] with positive integers but is " + p);
            }
            out.add(new Resolution(p.get(0).intValue(), p.get(1).intValue()));
        }
        return out;
    }

    /** {@code LlavaOnevisionImageProcessor.image_grid_pinpoints}: every (h, w) in 384 * (1..6). */
    private static List<Resolution> defaultPinpoints() {
        List<Resolution> out = new ArrayList<>();
        for (int h = 1; h <= 6; h++) {
            for (int w = 1; w <= 6; w++) {
                out.add(new Resolution(384 * h, 384 * w));
            }
        }
        return out;
    }
}
