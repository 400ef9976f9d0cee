package dev.glimpse.queryplanner;

import dev.glimpse.vlmruntime.api.AskOptions;
import dev.glimpse.vlmruntime.api.Media;
import dev.glimpse.vlmruntime.api.VisionLanguageModel;
import dev.glimpse.vlmruntime.generate.GenerationOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * QuoTA's chain-of-thought query decoupling (PAPERS.md, QuoTA step 2): the language model, text
 * only, answers three prompts in turn,
 * <ol>
 *   <li>does answering the question need physical entities (yes / no)? A clear "no" ends here;</li>
 *   <li>which objects does the question mention or need?</li>
 *   <li>of those, keep the physical ones, written as a list;</li>
 * </ol>
 * and the list of step 3 is parsed ({@link #parseObjects}). No objects (step 1 said no, or the list
 * is empty, "none" or unparseable) means the frames are scored against the question itself. Each
 * step is one user turn through the checkpoint's chat template, decoded greedily (the prompts'
 * wording is Glimpse's; PAPERS.md gives the steps, not the text).
 */
public final class QueryDecoupler {

    private static final Logger LOG = LoggerFactory.getLogger(QueryDecoupler.class);

    /** Most objects kept from a list: scoring prompts stay short, a runaway generation is cut. */
    public static final int MAX_OBJECTS = 12;
    /** Longest object name kept, in characters; longer items are sentences, not names. */
    public static final int MAX_OBJECT_CHARS = 40;
    private static final int MAX_OBJECT_WORDS = 5;

    private static final int YES_NO_TOKENS = 8;
    private static final int LIST_TOKENS = 64;

    private static final Pattern BRACKETED = Pattern.compile("\\[([^\\[\\]]*)]");
    private static final Pattern LEADING_LABEL = Pattern.compile("^(?i)(objects?|physical objects?|answer|list)\\s*:\\s*");
    private static final Pattern BULLET = Pattern.compile("^(?:[-*\u2022]+|\\(?\\d{1,2}[.)])\\s*");
    private static final Pattern NAME = Pattern.compile("[\\p{L}\\p{N}][\\p{L}\\p{N} '\\-/]*");
    private static final Pattern WORD = Pattern.compile("[\\p{L}]+");
    private static final List<String> NONE_WORDS = List.of("none", "no", "nothing", "n/a", "na", "null", "no objects",
            "there are none", "no physical objects");

    /** One greedy text-only reply of the language model to one user turn. */
    @FunctionalInterface
    public interface TextModel {
        String reply(String userTurn, int maxNewTokens);
    }

    /**
     * What the three steps answered.
     *
     * @param objects the physical objects to look for, in the order the model listed them; empty
     *                means the frames are scored against the question (QuoTA's fallback)
     * @param replies the model's reply to each step that ran, keyed "needs_objects", "objects",
     *                "physical_objects"
     */
    public record Decoupling(List<String> objects, Map<String, String> replies) {
        public Decoupling {
            objects = List.copyOf(objects);
            replies = Collections.unmodifiableMap(new LinkedHashMap<>(replies));
        }

        /** Whether scoring falls back to the question. */
        public boolean fallback() {
            return objects.isEmpty();
        }
    }

    private final TextModel model;

    public QueryDecoupler(TextModel model) {
        this.model = Objects.requireNonNull(model, "model");
    }

    /** A decoupler asking {@code vlm} with its chat template, no media, greedy decoding. */
    public static QueryDecoupler of(VisionLanguageModel vlm) {
        GenerationOptions checkpoint = GenerationOptions.fromCheckpoint(vlm.folder(), vlm.llava().config().text(), 1);
        return new QueryDecoupler((turn, maxNewTokens) -> {
            GenerationOptions greedy = GenerationOptions.greedy(maxNewTokens)
                    .withEosTokenIds(checkpoint.eosTokenIds());
            AskOptions options = AskOptions.defaults().withMaxNewTokens(maxNewTokens).withGeneration(greedy);
            return vlm.ask(Media.none(), turn, options).text();
        });
    }

    /** Runs the three steps for {@code question}. */
    public Decoupling decouple(String question) {
        Map<String, String> replies = new LinkedHashMap<>();
        String needs = model.reply(needsObjectsPrompt(question), YES_NO_TOKENS);
        replies.put("needs_objects", needs);
        if (parseYesNo(needs).filter(yes -> !yes).isPresent()) {
            LOG.debug("quota: the model says the question needs no physical objects: {}", needs);
            return new Decoupling(List.of(), replies);
        }
        String listed = model.reply(listObjectsPrompt(question), LIST_TOKENS);
        replies.put("objects", listed);
        String physical = model.reply(physicalObjectsPrompt(question, listed), LIST_TOKENS);
        replies.put("physical_objects", physical);
        List<String> objects = parseObjects(physical);
        LOG.debug("quota: objects {} from {}", objects, replies);
        return new Decoupling(objects, replies);
    }

    static String needsObjectsPrompt(String question) {
        return "Question: " + question + "\nDoes answering this question require finding physical entities "
                + "(objects, people, animals) in the video? Answer yes or no.";
    }

    static String listObjectsPrompt(String question) {
        return "Question: " + question + "\nList the objects this question mentions or needs, separated by commas.";
    }

    static String physicalObjectsPrompt(String question, String listed) {
        return "Question: " + question + "\nObjects: " + listed.strip() + "\nKeep only the physical objects that "
                + "can be seen in a video frame and write them as a list, e.g. [\"dog\", \"red ball\"]. "
                + "Write [] if there are none.";
    }

    /** "yes" or "no" at the start of {@code reply} (case, punctuation and a leading "A:" ignored); empty otherwise. */
    static Optional<Boolean> parseYesNo(String reply) {
        String s = LEADING_LABEL.matcher(reply.strip()).replaceFirst("").toLowerCase(Locale.ROOT);
        Matcher m = WORD.matcher(s);
        if (!m.find() || m.start() != 0) {
            return Optional.empty();
        }
        return switch (m.group()) {
            case "yes" -> Optional.of(true);
            case "no" -> Optional.of(false);
            default -> Optional.empty();
        };
    }

    /**
     * The object names in a model's list reply: the first {@code [...]} when there is one (a
     * Python or JSON list, quoted or not), else the whole reply; items split at commas,
     * semicolons and line breaks, stripped of bullets, numbering, quotes and a trailing period;
     * "none"-like items, items that are not names (symbols, no letter, over
     * {@value #MAX_OBJECT_CHARS} characters or 5 words) and repeats (ignoring case) are dropped;
     * at most {@value #MAX_OBJECTS}. Empty when nothing is left.
     */
    public static List<String> parseObjects(String reply) {
        String s = reply == null ? "" : reply.strip();
        Matcher bracket = BRACKETED.matcher(s);
        if (bracket.find()) {
            s = bracket.group(1);
        } else {
            s = LEADING_LABEL.matcher(s).replaceFirst("");
        }
        List<String> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (String raw : s.split("[,;\\n]")) {
            String item = clean(raw);
            if (item.isEmpty() || NONE_WORDS.contains(item.toLowerCase(Locale.ROOT)) || !isName(item)) {
                continue;
            }
            if (seen.add(item.toLowerCase(Locale.ROOT))) {
                out.add(item);
            }
            if (out.size() == MAX_OBJECTS) {
                break;
            }
        }
        return out;
    }

    private static String clean(String raw) {
        String item = BULLET.matcher(raw.strip()).replaceFirst("").strip();
        item = item.replaceAll("^[\"'`]+|[\"'`]+$", "").strip();
        item = item.replaceAll("[.!]+$", "").strip();
        return item.replaceAll("^[\"'`]+|[\"'`]+$", "").strip().replaceAll("\\s+", " ");
    }

    private static boolean isName(String item) {
        return item.length() <= MAX_OBJECT_CHARS && NAME.matcher(item).matches()
                && WORD.matcher(item).find() && item.split(" ").length <= MAX_OBJECT_WORDS;
    }
}
