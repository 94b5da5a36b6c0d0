"""hvplot view functions: take Datasets or frames, return HoloViews objects, hold no state."""
