"""The paper and authors presets."""

from core.augment import AUGMENT_PRESETS, CANONICAL_ORDER, TimeShift, build_augmentation


def test_presets_match_the_paper_and_the_authors():
    assert AUGMENT_PRESETS["paper"]["pitch_shift"] == AUGMENT_PRESETS["authors"]["pitch_shift"]
    ps = AUGMENT_PRESETS["paper"]["pitch_shift"]
    assert ps["min_semitones"] == -15 and ps["max_semitones"] == 15
    assert AUGMENT_PRESETS["paper"]["time_stretch"]["method"] == "stretch"
    assert AUGMENT_PRESETS["authors"]["time_stretch"]["method"] == "resample"
    assert set(AUGMENT_PRESETS["paper"]) == set(AUGMENT_PRESETS["authors"]) == set(CANONICAL_ORDER)
    shift = build_augmentation("time_shift", preset="authors")
    assert isinstance(shift, TimeShift) and shift.max_shift(16000) == 8000
    assert build_augmentation("time_shift").max_shift(16000) == 8000  # half of a one-second clip
    assert build_augmentation("time_shift").max_shift(80000) == 40000
