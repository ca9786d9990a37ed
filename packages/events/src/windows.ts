// Time constants every process agrees on (SPEC 3-5): the pipeline writes facts
// for windows up to MAX_WINDOW_DAYS, and the query service may ask for any
// window of 1..MAX_WINDOW_DAYS days.

export const DAY_MS = 86_400_000;

/** The longest lookback, window or outcome period any query may ask for (SPEC 5: 1..30 days). */
export const MAX_WINDOW_DAYS = 30;

export const MAX_WINDOW_MS = MAX_WINDOW_DAYS * DAY_MS;
