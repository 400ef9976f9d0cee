package dev.glimpse.evalharness.metrics;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Answer normalisation and scoring: GQA-style exact match, POPE-style yes/no. */
class AnswerMatcherTest {

    @Test
    void caseArticlesAndPunctuationDoNotMatter() {
        assertTrue(AnswerMatcher.correct("The Star.", "star", false));
        assertTrue(AnswerMatcher.correct("  red!\n", "red", false));
        assertEquals("blue", AnswerMatcher.normalize("a blue"));
    }

    @Test
    void numberWordsBecomeDigits() {
        assertTrue(AnswerMatcher.correct("Three", "3", false));
        assertTrue(AnswerMatcher.correct("0.", "zero", false));
    }

    @Test
    void onlyTheFirstLineCounts() {
        assertTrue(AnswerMatcher.correct("left\nbecause it is on the left", "left", false));
    }

    @Test
    void extraWordsAreNotAnExactMatch() {
        assertFalse(AnswerMatcher.correct("It is red", "red", false));
        assertFalse(AnswerMatcher.correct("", "red", false));
    }

    @Test
    void yesNoReadsTheFirstSentenceAsPopeDoes() {
        assertEquals("no", AnswerMatcher.yesNo("No, there is not."));
        assertEquals("no", AnswerMatcher.yesNo("There is not a red star"));
        assertEquals("no", AnswerMatcher.yesNo("There isn't one."));
        assertEquals("yes", AnswerMatcher.yesNo("Yes. No doubt."));
        assertEquals("yes", AnswerMatcher.yesNo("There is a red star"));
        assertTrue(AnswerMatcher.correct("Yes", "yes", true));
        assertTrue(AnswerMatcher.correct("no.", "no", true));
    }

    @Test
    void anEmptyYesNoAnswerIsWrong() {
        assertFalse(AnswerMatcher.correct("  ", "yes", true));
        assertFalse(AnswerMatcher.correct("...", "no", true));
    }
}
