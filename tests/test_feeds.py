"""Google Merchant TSV and Meta catalogue CSV feeds."""

from __future__ import annotations

import csv
import io

import pytest

from packshot.errors import InputError
from packshot.export.delivery.feeds import FeedImage, build_feed, choose_profile, public_link

IMAGES = [
    FeedImage("SKU-1", "amazon-main", "SKU-1_studio_1_amazon-main.jpg"),
    FeedImage("SKU-1", "google-shopping", "SKU-1_studio_1_google-shopping.jpg"),
    FeedImage("SKU-1", "meta-square", "SKU-1_studio_1_meta-square.jpg"),
    FeedImage("SKU-2", "google-shopping", "SKU-2_studio_1_google-shopping.jpg"),
    FeedImage("SKU-1", "google-shopping", "SKU-1_kitchen_2_google-shopping.jpg"),
    FeedImage("SKU-1", "google-shopping", "SKU-1_garden_3_google-shopping.jpg"),
    FeedImage("SKU-2", "meta-square", "SKU-2_studio_1_meta-square.jpg"),
]
BASE = "https://cdn.example.com/packshots/"


def test_google_feed_is_tsv_with_main_and_additional_links():
    feed = build_feed("google", IMAGES, BASE)
    rows = list(csv.reader(io.StringIO(feed.text), delimiter="\t"))
    assert rows[0] == ["id", "image_link", "additional_image_link"]
    assert feed.profile == "google-shopping" and feed.rows == 2 and feed.path.endswith(".tsv")
    by_id = {r[0]: r for r in rows[1:]}
    assert by_id["SKU-1"][1] == "https://cdn.example.com/packshots/SKU-1_studio_1_google-shopping.jpg"
    assert by_id["SKU-1"][2].split(",") == [
        "https://cdn.example.com/packshots/SKU-1_kitchen_2_google-shopping.jpg",
        "https://cdn.example.com/packshots/SKU-1_garden_3_google-shopping.jpg",
    ]
    assert by_id["SKU-2"][2] == ""
    assert all(len(r) == 3 for r in rows)


def test_meta_feed_is_csv_and_prefers_the_square_profile():
    feed = build_feed("meta", IMAGES, BASE)
    rows = list(csv.reader(io.StringIO(feed.text)))
    assert rows[0] == ["id", "image_link", "additional_image_link"]
    assert feed.profile == "meta-square" and feed.path.endswith(".csv")
    assert [r[1] for r in rows[1:]] == [BASE + "SKU-1_studio_1_meta-square.jpg", BASE + "SKU-2_studio_1_meta-square.jpg"]


def test_additional_links_are_capped_at_the_platform_limit():
    many = [FeedImage("S", "google-shopping", f"S_{i}.jpg") for i in range(15)]
    feed = build_feed("google", many, BASE)
    row = list(csv.reader(io.StringIO(feed.text), delimiter="\t"))[1]
    assert len(row[2].split(",")) == 10 and feed.dropped_links == 4


def test_links_are_percent_encoded_and_folders_kept():
    assert public_link("https://x.test/a/", "amazon main/Ä b.jpg") == "https://x.test/a/amazon%20main/%C3%84%20b.jpg"


def test_profile_choice_falls_back_to_prefix_then_first():
    assert choose_profile("google", ["etsy", "google-custom"]) == "google-custom"
    assert choose_profile("meta", ["etsy", "ebay"]) == "etsy"


@pytest.mark.parametrize("url", [None, "", "cdn.example.com/x", "s3://bucket/x"])
def test_feed_needs_a_web_public_url(url):
    with pytest.raises(InputError, match="--public-url"):
        build_feed("google", IMAGES, url)


def test_unknown_feed_kind():
    with pytest.raises(InputError, match="--feed"):
        build_feed("amazon", IMAGES, BASE)
