"""A held-out tool set in shapes the normalizer was not fitted to: does the role reader hold up?

30 tools and 60 queries written for this check (not taken from ../shared/data), each tool in
four dataset shapes: the flat API record (``api_name``, ``api_description``, ``parameters`` as
``{p: {type, description}}``, ``required``, ``responses``), ToolBench's API entry
(``required_parameters``/``optional_parameters`` lists, ``template_response``), API-Bank's
(``input_parameters``/``output_parameters``), and a Gorilla/APIBench-like record carrying its
noise (``api_call``, ``example_code``, ``python_environment_requirements``, ``performance``).
Each query ranks all 30 tools of its shape (one relevant).

    python bench/heldout_tools.py                 # writes bench/out/heldout-tools-<shape>/, then:
    toolrank eval bench/out/heldout-tools-* --both

It also prints, per shape, name+description word survival, tokens raw -> normalized (the
default model's tokenizer) and fallbacks.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"

# name, description, {param: (type, description, required)}, returns, queries
TOOLS: list[tuple[str, str, dict[str, tuple[str, str, bool]], str, tuple[str, str]]] = [
    ("convert_currency", "Convert an amount of money from one currency to another at today's rate.",
     {"amount": ("number", "Amount to convert", True), "from": ("string", "ISO code of the source currency", True),
      "to": ("string", "ISO code of the target currency", True)}, "converted amount",
     ("how many yen is 250 dollars right now", "change 80 euros into pounds")),
    ("get_air_quality", "Current air quality index and pollutant levels for a city.",
     {"city": ("string", "City name", True), "pollutant": ("string", "pm25, pm10, o3 or no2", False)}, "AQI and pollutants",
     ("is the air in Delhi safe to breathe today", "smog level in Los Angeles")),
    ("book_table", "Reserve a table at a restaurant for a date, time and party size.",
     {"restaurant_id": ("string", "Restaurant identifier", True), "time": ("string", "ISO date-time", True),
      "party_size": ("integer", "Number of guests", True)}, "reservation confirmation",
     ("reserve dinner for four at 8pm on Friday", "get us a table for two tomorrow at noon")),
    ("track_parcel", "Track a shipment by carrier and tracking number and return its delivery status.",
     {"carrier": ("string", "ups, fedex, dhl or usps", True), "tracking_number": ("string", "Tracking number", True)},
     "status and checkpoints", ("where is my package 1Z999 from UPS", "has my DHL delivery arrived yet")),
    ("translate_text", "Translate text into a target language, detecting the source language.",
     {"text": ("string", "Text to translate", True), "target_lang": ("string", "Target language code", True)},
     "translated text", ("say good morning in Japanese", "put this paragraph into Spanish")),
    ("search_recipes", "Find recipes by ingredients, cuisine or diet.",
     {"ingredients": ("array", "Ingredients to use", False), "diet": ("string", "vegan, keto, gluten-free...", False)},
     "recipes with titles and links", ("what can I cook with chicken and rice", "vegan dessert ideas")),
    ("get_stock_quote", "Latest trading price and daily change of a stock by ticker symbol.",
     {"symbol": ("string", "Ticker symbol", True)}, "price, change, volume",
     ("how is Tesla stock doing today", "current share price of MSFT")),
    ("create_calendar_event", "Add an event to the user's calendar with title, start, end and attendees.",
     {"title": ("string", "Event title", True), "start": ("string", "Start time", True), "end": ("string", "End time", True),
      "attendees": ("array", "Emails of invitees", False)}, "event id",
     ("schedule a meeting with Anna on Monday at 10", "put the dentist appointment in my agenda")),
    ("send_sms", "Send a text message to a phone number.",
     {"to": ("string", "Phone number in E.164 format", True), "message": ("string", "Message body", True)}, "message id",
     ("text my wife that I will be late", "send an SMS to +15551234567")),
    ("find_flights", "Search flights between two airports on given dates, with prices.",
     {"origin": ("string", "Departure airport code", True), "destination": ("string", "Arrival airport code", True),
      "date": ("string", "Departure date", True), "return_date": ("string", "Return date", False)}, "itineraries",
     ("cheapest flight from Boston to Chicago next week", "plane tickets Paris to Rome in May")),
    ("get_weather_forecast", "Daily weather forecast for the next days for a location.",
     {"location": ("string", "City or coordinates", True), "days": ("integer", "Number of days, up to 14", False)},
     "daily forecast", ("will it rain in Seattle this weekend", "temperature in Madrid over the next five days")),
    ("lookup_word", "Dictionary definitions, pronunciation and synonyms of an English word.",
     {"word": ("string", "The word to look up", True)}, "definitions",
     ("what does ephemeral mean", "synonyms for happy")),
    ("calculate_mortgage", "Monthly payment of a mortgage from principal, interest rate and term.",
     {"principal": ("number", "Loan amount", True), "rate": ("number", "Annual interest rate in percent", True),
      "years": ("integer", "Loan term in years", True)}, "monthly payment",
     ("monthly payment on a 300k home loan at 6 percent over 30 years", "how much would my house loan cost per month")),
    ("get_movie_showtimes", "Showtimes of films playing at cinemas near a location.",
     {"location": ("string", "City or zip code", True), "movie": ("string", "Film title", False)}, "cinemas and times",
     ("when is Dune playing near me tonight", "movie times at theaters in Austin")),
    ("resize_image", "Resize an image to a width and height, keeping or ignoring its aspect ratio.",
     {"image_url": ("string", "Image location", True), "width": ("integer", "Target width in pixels", True),
      "height": ("integer", "Target height in pixels", False)}, "resized image url",
     ("make this photo 800 pixels wide", "shrink the picture to a thumbnail")),
    ("get_nutrition_facts", "Calories, protein, fat and carbohydrates of a food item.",
     {"food": ("string", "Food name", True), "grams": ("number", "Portion in grams", False)}, "nutrients",
     ("how many calories in a banana", "protein content of 100g of tofu")),
    ("find_nearby_places", "Find points of interest such as cafes, pharmacies or ATMs around a location.",
     {"location": ("string", "Address or coordinates", True), "category": ("string", "Kind of place", True),
      "radius_m": ("integer", "Search radius in meters", False)}, "places",
     ("closest pharmacy open now", "coffee shops within walking distance")),
    ("get_exchange_holidays", "Trading holidays of a stock exchange in a year.",
     {"exchange": ("string", "Exchange code like NYSE", True), "year": ("integer", "Year", False)}, "closed dates",
     ("is the stock market closed on Good Friday", "NYSE holidays in 2025")),
    ("create_invoice", "Create and send an invoice to a customer with line items.",
     {"customer_email": ("string", "Customer email", True), "items": ("array", "Line items with price", True),
      "due_date": ("string", "Payment due date", False)}, "invoice id and link",
     ("bill my client for 10 hours of consulting", "send an invoice to acme corp")),
    ("get_song_lyrics", "Lyrics of a song by title and artist.",
     {"title": ("string", "Song title", True), "artist": ("string", "Artist name", False)}, "lyrics",
     ("words of Bohemian Rhapsody", "what are the lyrics to Hello by Adele")),
    ("check_domain_availability", "Check whether an internet domain name is available to register.",
     {"domain": ("string", "Domain name like example.com", True)}, "available or taken",
     ("is mycoolstartup.io free to buy", "can I register the domain pizzaplace.com")),
    ("get_train_schedule", "Departures of trains between two stations.",
     {"from_station": ("string", "Departure station", True), "to_station": ("string", "Arrival station", True),
      "time": ("string", "Earliest departure", False)}, "departures",
     ("next train from Amsterdam to Utrecht", "rail timetable London to Brighton this evening")),
    ("summarize_url", "Fetch a web page and return a short summary of its content.",
     {"url": ("string", "Page address", True), "sentences": ("integer", "Length of the summary", False)}, "summary",
     ("give me the gist of this article", "tl;dr of the blog post at this link")),
    ("get_crypto_price", "Current price of a cryptocurrency in a fiat currency.",
     {"coin": ("string", "Coin symbol like BTC", True), "currency": ("string", "Fiat currency", False)}, "price",
     ("bitcoin price in dollars", "how much is one ethereum worth")),
    ("create_todo", "Add a task to the user's to-do list with an optional due date.",
     {"task": ("string", "What to do", True), "due": ("string", "Due date", False)}, "task id",
     ("remind me to buy milk", "add renew passport to my tasks")),
    ("get_sports_scores", "Live and final scores of games in a league.",
     {"league": ("string", "League like NBA or Premier League", True), "date": ("string", "Game date", False)}, "games",
     ("who won the Lakers game last night", "Premier League results today")),
    ("detect_language", "Identify the language a piece of text is written in.",
     {"text": ("string", "Text to analyse", True)}, "language code and confidence",
     ("which language is this sentence", "is this text Portuguese or Spanish")),
    ("get_time_zone", "Local time and UTC offset for a city.",
     {"city": ("string", "City name", True)}, "local time",
     ("what time is it in Tokyo", "time difference between New York and Sydney")),
    ("generate_qr_code", "Make a QR code image that encodes a URL or text.",
     {"data": ("string", "Text or link to encode", True), "size": ("integer", "Image size in pixels", False)},
     "png image", ("create a QR code for my website", "make a scannable code for the wifi password")),
    ("get_public_holidays", "Public holidays of a country in a year.",
     {"country": ("string", "Country code", True), "year": ("integer", "Year", True)}, "holidays",
     ("bank holidays in Germany next year", "is May 1st a day off in France")),
]


def flat(name: str, desc: str, params: dict, returns: str) -> dict[str, Any]:
    return {"api_name": name, "api_description": desc,
            "parameters": {p: {"type": t, "description": d} for p, (t, d, _) in params.items()},
            "required": [p for p, (_, _, r) in params.items() if r],
            "responses": {"200": {"description": returns}}}


def toolbench(name: str, desc: str, params: dict, returns: str) -> dict[str, Any]:
    def rows(req: bool) -> list[dict[str, Any]]:
        return [{"name": p, "type": t.upper(), "description": d, "default": ""}
                for p, (t, d, r) in params.items() if r is req]
    return {"category_name": "Utilities", "tool_name": name.split("_", 1)[-1].replace("_", " ").title() + " API",
            "api_name": name, "api_description": desc, "required_parameters": rows(True),
            "optional_parameters": rows(False), "method": "GET",
            "template_response": {"result": returns, "status": "str", "request_id": "str"}}


def api_bank(name: str, desc: str, params: dict, returns: str) -> dict[str, Any]:
    pascal = "".join(w.title() for w in name.split("_"))
    return {"name": pascal, "description": desc,
            "input_parameters": {p: {"type": {"string": "str", "integer": "int", "number": "float"}.get(t, t),
                                     "description": d} for p, (t, d, _) in params.items()},
            "output_parameters": {"result": {"type": "str", "description": returns}}}


def gorilla(name: str, desc: str, params: dict, returns: str) -> dict[str, Any]:
    args = ", ".join(f"{p}=..." for p in params)
    return {"domain": "Web API", "framework": "REST", "functionality": desc.split(" ", 3)[0], "api_name": name,
            "api_call": f"client.{name}({args})", "api_arguments": list(params),
            "python_environment_requirements": ["requests", "pydantic>=2", "httpx"],
            "example_code": f"import requests\nfrom client import Client\nclient = Client(api_key='...')\n"
                            f"result = client.{name}({args})\nprint(result.json())",
            "performance": {"dataset": "internal", "accuracy": "n/a", "latency_ms": 120},
            "description": desc}


SHAPES = {"flat": flat, "toolbench": toolbench, "api-bank": api_bank, "gorilla": gorilla}


def write_sets() -> list[Path]:
    paths = []
    for shape, make in SHAPES.items():
        root = OUT / f"heldout-tools-{shape}"
        root.mkdir(parents=True, exist_ok=True)
        ids = [f"{shape}-{i}" for i in range(len(TOOLS))]
        with open(root / "corpus.jsonl", "w", encoding="utf-8") as f:
            for cid, (name, desc, params, returns, _) in zip(ids, TOOLS):
                f.write(json.dumps({"id": cid, "tool": make(name, desc, params, returns)}) + "\n")
        with open(root / "queries.jsonl", "w", encoding="utf-8") as f:
            for i, (*_, queries) in enumerate(TOOLS):
                for j, query in enumerate(queries):
                    f.write(json.dumps({"id": f"{shape}-q{i}-{j}", "query": query, "candidates": ids,
                                        "relevant": [ids[i]]}) + "\n")
        paths.append(root)
    return paths


_TOKEN = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def _bm25(doc: list[str], terms: list[str], df: Counter, n: int, avg: float, k1: float, b: float) -> float:
    tf = Counter(doc)
    return sum(math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) * tf[t] * (k1 + 1)
               / (tf[t] + k1 * (1 - b + b * len(doc) / avg)) for t in terms if t in tf)


def bm25_ndcg(path: Path, k1: float = 1.5, b: float = 0.75) -> float:
    """nDCG@10 of Okapi BM25 over the raw JSON (lower-cased alphanumeric tokens, camelCase split),
    the baseline ../shared/data/README.md reports, on one held-out set."""
    corpus = {}
    for line in (path / "corpus.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        corpus[row["id"]] = [t.lower() for t in _TOKEN.findall(json.dumps(row["tool"]))]
    total = 0.0
    queries = [json.loads(line) for line in (path / "queries.jsonl").read_text(encoding="utf-8").splitlines()]
    for q in queries:
        docs = {i: corpus[i] for i in q["candidates"]}
        avg = sum(map(len, docs.values())) / len(docs)
        df = Counter(t for d in docs.values() for t in set(d))
        terms = [t.lower() for t in _TOKEN.findall(q["query"])]
        scores = {i: _bm25(d, terms, df, len(docs), avg, k1, b) for i, d in docs.items()}
        ranked = sorted(docs, key=lambda i: -scores[i])
        rank = ranked.index(q["relevant"][0])
        total += 1 / math.log2(rank + 2) if rank < 10 else 0.0
    return total / len(queries)


def main() -> int:
    sys.path.insert(0, str(ROOT / "bench"))
    from tool_faithfulness import report  # noqa: PLC0415 - a sibling script

    paths = write_sets()
    for path in paths:
        print(report(path) + f"  BM25 nDCG@10 (raw) {bm25_ndcg(path):.3f}")
    print("\nnext: toolrank eval " + " ".join(str(p.relative_to(ROOT)) for p in paths) + " --both")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
