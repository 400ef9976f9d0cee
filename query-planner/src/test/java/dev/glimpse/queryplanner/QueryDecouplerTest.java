package dev.glimpse.queryplanner;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Parsing the language model's replies to QuoTA's decoupling steps, on canned outputs. */
class QueryDecouplerTest {

    @Test
    void parsesAPythonListWithSingleQuotes() {
        assertEquals(List.of("dog", "red ball"), QueryDecoupler.parseObjects("['dog', 'red ball']"));
    }

    @Test
    void parsesAJsonListInsideProse() {
        assertEquals(List.of("man", "bicycle"),
                QueryDecoupler.parseObjects("Sure! The physical objects are [\"man\", \"bicycle\"]. Hope it helps."));
    }

    @Test
    void parsesNumberedAndBulletedLines() {
        assertEquals(List.of("cat", "sofa", "lamp"), QueryDecoupler.parseObjects("1. cat\n2) sofa\n- lamp."));
    }

    @Test
    void parsesACommaListAfterALabel() {
        assertEquals(List.of("orange diamond", "star"), QueryDecoupler.parseObjects("Objects: orange diamond, star"));
    }

    @Test
    void dropsRepeatsIgnoringCase() {
        assertEquals(List.of("Car", "tree"), QueryDecoupler.parseObjects("[Car, car, tree, CAR]"));
    }

    @Test
    void noneAndAnEmptyListGiveNoObjects() {
        assertEquals(List.of(), QueryDecoupler.parseObjects("None"));
        assertEquals(List.of(), QueryDecoupler.parseObjects("[]"));
        assertEquals(List.of(), QueryDecoupler.parseObjects("no objects."));
        assertEquals(List.of(), QueryDecoupler.parseObjects("   "));
    }

    @Test
    void junkGivesNoObjects() {
        assertEquals(List.of(), QueryDecoupler.parseObjects("??? ### 12 34 !!"));
        assertEquals(List.of(), QueryDecoupler.parseObjects(
                "the question asks about something that happens later on in the video clip"));
    }

    @Test
    void keepsAtMostTwelveObjects() {
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 30; i++) {
            many.append("thing").append((char) ('a' + i % 26)).append(i).append(", ");
        }
        assertEquals(QueryDecoupler.MAX_OBJECTS, QueryDecoupler.parseObjects(many.toString()).size());
    }

    @Test
    void readsYesAndNoAtTheStartOfAReply() {
        assertEquals(true, QueryDecoupler.parseYesNo("Yes, it does.").orElseThrow());
        assertEquals(false, QueryDecoupler.parseYesNo("No.").orElseThrow());
        assertEquals(false, QueryDecoupler.parseYesNo("Answer: no").orElseThrow());
        assertTrue(QueryDecoupler.parseYesNo("Maybe yes").isEmpty());
        assertTrue(QueryDecoupler.parseYesNo("nobody knows").isEmpty());
    }

    @Test
    void aNoToTheFirstStepEndsWithTheQuestionFallback() {
        List<String> asked = new ArrayList<>();
        QueryDecoupler d = new QueryDecoupler((turn, n) -> {
            asked.add(turn);
            return "no";
        });
        QueryDecoupler.Decoupling out = d.decouple("What is the video about?");
        assertTrue(out.fallback());
        assertEquals(1, asked.size());
        assertEquals(Map.of("needs_objects", "no"), out.replies());
    }

    @Test
    void theThirdStepsListIsTheObjects() {
        List<String> replies = List.of("yes", "a woman, a red umbrella, the weather", "['woman', 'red umbrella']");
        List<String> asked = new ArrayList<>();
        QueryDecoupler d = new QueryDecoupler((turn, n) -> {
            asked.add(turn);
            return replies.get(asked.size() - 1);
        });
        QueryDecoupler.Decoupling out = d.decouple("Where does the woman put the red umbrella?");
        assertEquals(List.of("woman", "red umbrella"), out.objects());
        assertTrue(asked.get(2).contains("a woman, a red umbrella, the weather"), asked.get(2));
        assertTrue(asked.get(0).contains("Where does the woman put the red umbrella?"), asked.get(0));
    }

    @Test
    void anUnclearFirstStepStillAsksForTheList() {
        List<String> replies = List.of("4", "blue", "???");
        int[] calls = {0};
        QueryDecoupler d = new QueryDecoupler((turn, n) -> replies.get(calls[0]++));
        assertTrue(d.decouple("How many objects appeared?").fallback());
        assertEquals(3, calls[0]);
    }
}
