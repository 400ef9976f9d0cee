package dev.glimpse.tokenpruning.budget;

/** A {@code --budget} value that cannot be parsed or used; the message names the flag and the accepted forms. */
public final class InvalidBudgetException extends IllegalArgumentException {

    public InvalidBudgetException(String message) {
        super(message);
    }
}
