"""Pair building and windowing, against expectations worked out by hand."""

from toolrank.engine.pairs import build_pair, build_single, cap_query, pair_windows, split_windows, window_size
from toolrank.models.loader import PairTemplate

BERT = PairTemplate(prefix=(101,), middle=(102,), suffix=(102,), single_prefix=(101,), single_suffix=(102,),
                    middle_first_segment=1, pad_id=0)
XLMR = PairTemplate(prefix=(0,), middle=(2, 2), suffix=(2,), single_prefix=(0,), single_suffix=(2,),
                    middle_first_segment=1, pad_id=1)


def test_bert_pair_layout_and_segments():
    seq = build_pair([7, 8], [9, 10, 11], BERT)
    assert seq.ids == (101, 7, 8, 102, 9, 10, 11, 102)
    # [CLS] q [SEP] are segment 0; d [SEP] are segment 1.
    assert seq.second_segment == 4


def test_xlmr_pair_layout():
    seq = build_pair([7, 8], [9], XLMR)
    assert seq.ids == (0, 7, 8, 2, 2, 9, 2)


def test_query_cap_matches_jina_encode_plus():
    # jina: encode_plus(query, max_length=512) keeps <s> + 510 tokens + </s>.
    q = list(range(5, 2000))
    assert len(cap_query(q, XLMR, 512)) == 510
    assert cap_query([1, 2, 3], XLMR, 512) == [1, 2, 3]


def test_window_size_is_jina_max_passage_length():
    # jina: max_length - len(<s> q </s>) - 2; with a 10-token query and 1024: 1024 - 12 - 2.
    assert window_size(10, XLMR, 1024) == 1010
    assert window_size(10, BERT, 512) == 512 - 10 - 3


def test_short_document_is_one_window():
    assert split_windows([1, 2, 3], 5) == [[1, 2, 3]]
    assert split_windows([1, 2, 3, 4, 5], 5) == [[1, 2, 3, 4, 5]]


def test_windows_overlap_and_last_window_right_aligned():
    doc = list(range(20))
    # window 8 -> overlap min(80, 8 // 4) = 2 -> starts 0, 6, 12; the last is doc[-8:].
    assert split_windows(doc, 8) == [
        list(range(0, 8)),
        list(range(6, 14)),
        list(range(12, 20)),
    ]
    doc = list(range(17))
    # starts 0, 6; then end 14 < 17 -> next start 12, end 20 >= 17 -> right-aligned doc[-8:] = 9..16
    assert split_windows(doc, 8) == [list(range(0, 8)), list(range(6, 14)), list(range(9, 17))]


def test_overlap_is_capped_at_80():
    doc = list(range(1000))
    windows = split_windows(doc, 400)
    assert windows[0] == doc[:400]
    assert windows[1][0] == 400 - 80
    assert windows[-1] == doc[-400:]
    covered = set().union(*map(set, windows))
    assert covered == set(doc)


def test_pair_windows_fill_max_length():
    q = [5] * 10
    doc = list(range(100, 160))
    seqs = pair_windows(q, doc, XLMR, 40)
    assert all(len(s) <= 40 for s in seqs)
    assert len(seqs[0]) == 40
    assert len(seqs) == len(split_windows(doc, window_size(10, XLMR, 40)))


def test_single_sequence_truncates():
    seq, cut = build_single(list(range(10)), BERT, 6)
    assert seq.ids == (101, 0, 1, 2, 3, 102)
    assert cut
    seq, cut = build_single([4], BERT, 6)
    assert seq.ids == (101, 4, 102) and not cut
