from audio import clocks


def test_derived_clocks():
    assert clocks.SAMPLES_PER_FRAME == 640
    assert clocks.FEATURES_PER_FRAME == 4
    assert clocks.LOOKAHEAD_MS == 80
    assert clocks.frames_for_samples(641) == 2
