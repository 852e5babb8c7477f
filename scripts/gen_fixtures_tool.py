"""Regenerate the tool normalizer's golden fixtures: ``python scripts/gen_fixtures_tool.py``.

One fixture per format under ``tests/fixtures/normalize/tool/<name>.json``: the input (written
here from the format's public documentation, named in ``source``), the expected text and the
expected ``detail``. Review the diff of the expected texts before committing: they are what
``tests/normalize/test_tool_fixtures.py`` holds the normalizer to.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "server"))

from toolrank.normalize.tool import normalize_tool  # noqa: E402
from toolrank.types import NormalizeOptions, ToolInput  # noqa: E402

OUT = ROOT / "tests" / "fixtures" / "normalize" / "tool"
MAX_CHARS = 2048

WEATHER_SCHEMA = {
    "type": "object",
    "properties": {
        "location": {"type": "string", "description": "City and country e.g. Bogotá, Colombia"},
        "units": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Units the temperature will be returned in."},
    },
    "required": ["location"],
    "additionalProperties": False,
}

MCP_TOOL = {
    "name": "get_weather_data",
    "title": "Weather Data Retriever",
    "description": "Get current weather data for a location",
    "inputSchema": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "City name or zip code"}},
        "required": ["location"],
    },
    "outputSchema": {
        "type": "object",
        "properties": {
            "temperature": {"type": "number", "description": "Temperature in celsius"},
            "conditions": {"type": "string", "description": "Weather conditions description"},
            "humidity": {"type": "number", "description": "Humidity percentage"},
        },
        "required": ["temperature", "conditions", "humidity"],
    },
    "annotations": {"readOnlyHint": True, "openWorldHint": True},
}
MCP_SEARCH = {
    "name": "search_issues",
    "description": "Search issues in a GitHub repository by text and label.",
    "inputSchema": {
        "type": "object",
        "properties": {
            "repo": {"type": "string", "description": "Repository as owner/name"},
            "query": {"type": "string", "description": "Words to search for"},
            "labels": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["repo", "query"],
    },
}

TOP_SONG = {"toolSpec": {
    "name": "top_song", "description": "Get the most popular song played on a radio station.",
    "inputSchema": {"json": {"type": "object", "properties": {"sign": {
        "type": "string", "description": "The call sign for the radio station for which you want the most popular song. "
                                         "Example calls signs are WZPZ and WKRP."}}, "required": ["sign"]}}}}

FIXTURES: dict[str, tuple[str, Any]] = {
    "openai_chat": (
        "https://platform.openai.com/docs/guides/function-calling (Chat Completions tools: "
        "{type: function, function: {name, description, parameters, strict}})",
        {"type": "function", "function": {"name": "get_weather", "description": "Retrieves current weather for the given location.",
                                          "parameters": WEATHER_SCHEMA, "strict": True}},
    ),
    "openai_responses": (
        "https://platform.openai.com/docs/guides/function-calling (Responses API tools: {type: function, name, "
        "description, parameters, strict})",
        {"type": "function", "name": "get_weather", "description": "Retrieves current weather for the given location.",
         "parameters": WEATHER_SCHEMA, "strict": True},
    ),
    "anthropic": (
        "https://docs.anthropic.com/en/docs/build-with-claude/tool-use (tools: {name, description, input_schema})",
        {"name": "get_stock_price", "description": "Retrieves the current stock price for a given ticker symbol. The ticker "
         "symbol must be a valid symbol for a publicly traded company on a major US stock exchange like NYSE or NASDAQ.",
         "input_schema": {"type": "object", "properties": {"ticker": {"type": "string", "description": "The stock ticker "
                          "symbol, e.g. AAPL for Apple Inc."}}, "required": ["ticker"]}},
    ),
    "mcp_tool": (
        "https://modelcontextprotocol.io/specification/2025-06-18/server/tools (Tool: name, title, description, "
        "inputSchema, outputSchema, annotations)",
        MCP_TOOL,
    ),
    "mcp_tools_list_result": (
        "https://modelcontextprotocol.io/specification/2025-06-18/server/tools (ListToolsResult: {tools, nextCursor})",
        {"tools": [MCP_TOOL, MCP_SEARCH], "nextCursor": "next-page-cursor"},
    ),
    "mcp_jsonrpc_response": (
        "https://modelcontextprotocol.io/specification/2025-06-18/server/tools (tools/list response: "
        "{jsonrpc: 2.0, id, result: {tools: [...]}})",
        {"jsonrpc": "2.0", "id": 1, "result": {"tools": [MCP_TOOL, MCP_SEARCH], "nextCursor": "next-page-cursor"}},
    ),
    "gemini": (
        "https://ai.google.dev/gemini-api/docs/function-calling (tools: [{functionDeclarations: [{name, description, "
        "parameters}]}], OpenAPI-subset schema with upper-case types)",
        {"functionDeclarations": [
            {"name": "set_light_values", "description": "Sets the brightness and color temperature of a light.",
             "parameters": {"type": "OBJECT", "properties": {
                 "brightness": {"type": "INTEGER", "description": "Light level from 0 to 100. Zero is off and 100 is full brightness"},
                 "color_temp": {"type": "STRING", "enum": ["daylight", "cool", "warm"],
                                "description": "Color temperature of the light fixture, which can be `daylight`, `cool` or `warm`."}},
                 "required": ["brightness", "color_temp"]}},
        ]},
    ),
    "bfcl": (
        "https://github.com/ShishirPatil/gorilla/tree/main/berkeley-function-call-leaderboard (BFCL v4 data: "
        "{name, description, parameters: {type: dict, properties, required}})",
        {"name": "calculate_triangle_area", "description": "Calculate the area of a triangle given its base and height.",
         "parameters": {"type": "dict", "properties": {
             "base": {"type": "integer", "description": "The base of the triangle."},
             "height": {"type": "integer", "description": "The height of the triangle."},
             "unit": {"type": "string", "description": "The unit of measure (defaults to 'units' if not specified)"}},
             "required": ["base", "height"]}},
    ),
    "json_schema_function": (
        "https://json-schema.org/understanding-json-schema (a bare function: {name, description, parameters: JSON Schema "
        "with $defs and $ref})",
        {"name": "create_event", "description": "Create a calendar event.", "parameters": {
            "type": "object", "$defs": {"Attendee": {"type": "object", "properties": {
                "email": {"type": "string", "format": "email"}, "optional": {"type": "boolean", "default": False}},
                "required": ["email"]}},
            "properties": {"title": {"type": "string"}, "start": {"type": "string", "format": "date-time"},
                           "attendees": {"type": "array", "items": {"$ref": "#/$defs/Attendee"}}},
            "required": ["title", "start"]}},
    ),
    "json_schema_bare": (
        "https://docs.pydantic.dev/latest/concepts/json_schema/ (a bare JSON Schema as model_json_schema() writes "
        "it: title, description, type object, properties, required, $defs)",
        {"$defs": {"Unit": {"enum": ["celsius", "fahrenheit"], "title": "Unit", "type": "string"}},
         "description": "Look up the current weather for a city.",
         "properties": {"city": {"description": "City name", "title": "City", "type": "string"},
                        "unit": {"$ref": "#/$defs/Unit", "default": "celsius"}},
         "required": ["city"], "title": "GetWeather", "type": "object"},
    ),
    "openapi3_operation": (
        "https://spec.openapis.org/oas/v3.1.0#operation-object (operationId, summary, parameters, requestBody, responses)",
        {"operationId": "updatePetWithForm", "summary": "Updates a pet in the store with form data",
         "parameters": [{"name": "petId", "in": "path", "description": "ID of pet that needs to be updated",
                         "required": True, "schema": {"type": "string"}}],
         "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {
             "name": {"description": "Updated name of the pet", "type": "string"},
             "status": {"description": "Updated status of the pet", "type": "string"}}, "required": ["status"]}}}},
         "responses": {"200": {"description": "Pet updated."}, "405": {"description": "Method Not Allowed"}}},
    ),
    "openapi3_document": (
        "https://learn.openapis.org/examples/v3.0/petstore.html (OpenAPI 3.0 petstore: paths, components, $ref)",
        {"openapi": "3.0.0", "info": {"version": "1.0.0", "title": "Swagger Petstore", "license": {"name": "MIT"}},
         "servers": [{"url": "http://petstore.swagger.io/v1"}],
         "paths": {
             "/pets": {
                 "get": {"summary": "List all pets", "operationId": "listPets", "tags": ["pets"],
                         "parameters": [{"name": "limit", "in": "query", "description": "How many items to return at one time (max 100)",
                                         "required": False, "schema": {"type": "integer", "maximum": 100, "format": "int32"}}],
                         "responses": {"200": {"description": "A paged array of pets"}}},
                 "post": {"summary": "Create a pet", "operationId": "createPets", "tags": ["pets"],
                          "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}},
                                          "required": True},
                          "responses": {"201": {"description": "Null response"}}}},
             "/pets/{petId}": {
                 "get": {"summary": "Info for a specific pet", "operationId": "showPetById", "tags": ["pets"],
                         "parameters": [{"name": "petId", "in": "path", "required": True,
                                         "description": "The id of the pet to retrieve", "schema": {"type": "string"}}],
                         "responses": {"200": {"description": "Expected response to a valid request"}}}}},
         "components": {"schemas": {"Pet": {"type": "object", "required": ["id", "name"], "properties": {
             "id": {"type": "integer", "format": "int64"}, "name": {"type": "string"}, "tag": {"type": "string"}}}}}},
    ),
    "swagger2_document": (
        "https://github.com/OAI/OpenAPI-Specification/blob/main/examples/v2.0/json/petstore-simple.json (Swagger 2.0: "
        "in: body parameters, definitions)",
        {"swagger": "2.0", "info": {"version": "1.0.0", "title": "Swagger Petstore"}, "host": "petstore.swagger.io",
         "basePath": "/api", "paths": {"/pets": {
             "get": {"description": "Returns all pets from the system that the user has access to",
                     "operationId": "findPets", "produces": ["application/json"],
                     "parameters": [{"name": "tags", "in": "query", "description": "tags to filter by", "required": False,
                                     "type": "array", "items": {"type": "string"}, "collectionFormat": "csv"},
                                    {"name": "limit", "in": "query", "description": "maximum number of results to return",
                                     "required": False, "type": "integer", "format": "int32"}],
                     "responses": {"200": {"description": "pet response"}}},
             "post": {"description": "Creates a new pet in the store.  Duplicates are allowed", "operationId": "addPet",
                      "parameters": [{"name": "pet", "in": "body", "description": "Pet to add to the store", "required": True,
                                      "schema": {"$ref": "#/definitions/NewPet"}}],
                      "responses": {"200": {"description": "pet response"}}}}},
         "definitions": {"NewPet": {"type": "object", "required": ["name"], "properties": {
             "name": {"type": "string"}, "tag": {"type": "string"}}}}},
    ),
    "swagger2_operation": (
        "https://swagger.io/specification/v2/#operation-object (Swagger 2.0 operation: parameters with in: body and "
        "inline types, responses)",
        {"tags": ["user"], "summary": "Updated user", "description": "This can only be done by the logged in user.",
         "operationId": "updateUser", "produces": ["application/json"],
         "parameters": [{"name": "username", "in": "path", "description": "name that need to be updated",
                         "required": True, "type": "string"},
                        {"in": "body", "name": "body", "description": "Updated user object", "required": True,
                         "schema": {"type": "object", "properties": {"email": {"type": "string"},
                                                                     "phone": {"type": "string"}}}}],
         "responses": {"400": {"description": "Invalid user supplied"}, "404": {"description": "User not found"}}},
    ),
    "toolbench_api": (
        "https://github.com/OpenBMB/ToolBench (query-level api_list entries: category_name, tool_name, api_name, "
        "api_description, required_parameters, optional_parameters, method, template_response)",
        {"category_name": "Finance", "tool_name": "Currency Exchange", "api_name": "exchange",
         "api_description": "Get Currency Exchange Rate", "required_parameters": [
             {"name": "from", "type": "STRING", "description": "Source Quote", "default": "SGD"},
             {"name": "to", "type": "STRING", "description": "Destination Quote", "default": "MYR"}],
         "optional_parameters": [{"name": "q", "type": "NUMBER", "description": "Source Amount", "default": "1.0"}],
         "method": "GET", "template_response": {"rate": "float"}},
    ),
    "toolbench_tool": (
        "https://github.com/OpenBMB/ToolBench (data/toolenv/tools/<Category>/<tool>.json: tool_name, tool_description, "
        "home_url, host, api_list[{name, url, description, method, required_parameters, optional_parameters, code}])",
        {"tool_name": "Weather Forecast", "tool_description": "Hourly and daily weather forecasts for any place.",
         "title": "Weather Forecast", "pricing": "FREEMIUM", "score": {"avgServiceLevel": 100},
         "home_url": "https://rapidapi.com/example/api/weather-forecast", "host": "weather-forecast.p.rapidapi.com",
         "api_list": [
             {"name": "Hourly forecast", "url": "https://weather-forecast.p.rapidapi.com/hourly", "description":
              "Hourly forecast for the next 48 hours.", "method": "GET",
              "required_parameters": [{"name": "city", "type": "STRING", "description": "City name", "default": "London"}],
              "optional_parameters": [], "code": "import requests\nurl = 'https://weather-forecast.p.rapidapi.com/hourly'",
              "test_endpoint": {"temp": 12}},
             {"name": "Daily forecast", "url": "https://weather-forecast.p.rapidapi.com/daily", "description":
              "Daily forecast for the next 14 days.", "method": "GET",
              "required_parameters": [{"name": "city", "type": "STRING", "description": "City name", "default": "London"}],
              "optional_parameters": [{"name": "days", "type": "NUMBER", "description": "Days ahead", "default": "7"}]}]},
    ),
    "api_record_flat": (
        "issue #10 of this project: the flat API record of RapidAPI-derived retrieval sets (api_name, api_description, "
        "parameters as {param: {type, description}}, required, responses); once misread as an OpenAPI operation",
        {"api_name": "search_flights", "api_description": "Search one-way flights between two airports on a date.",
         "parameters": {"origin": {"type": "string", "description": "IATA code of the departure airport"},
                        "destination": {"type": "string", "description": "IATA code of the arrival airport"},
                        "date": {"type": "string", "description": "Departure date, YYYY-MM-DD"},
                        "cabin": {"type": "string", "description": "Cabin class: economy, premium or business"}},
         "required": ["origin", "destination", "date"],
         "responses": {"flights": {"type": "array", "description": "Matching flights with price and duration"}}},
    ),
    "api_bank": (
        "https://github.com/AlibabaResearch/DAMO-ConvAI/tree/main/api-bank (apis/*.py: description, input_parameters, "
        "output_parameters as {name: {type, description}})",
        {"name": "AddAlarm", "description": "The API for setting an alarm includes a parameter for the alarm time.",
         "input_parameters": {"token": {"type": "str", "description": "User's token."},
                              "time": {"type": "str", "description": "The time for alarm. Format: %Y-%m-%d %H:%M:%S"}},
         "output_parameters": {"status": {"type": "str", "description": "success or failed"}}},
    ),
    "toolalpaca": (
        "https://github.com/tangqiaoyu/ToolAlpaca (data/*.json: Name, Description, Category, Documentation (OpenAPI as "
        "text), NLDocumentation, Function_Description)",
        {"Name": "Nager.Date", "Description": "Public holidays for more than 90 countries", "Category": "Calendar",
         "Authentication": {}, "external_tools": ["retrieval"],
         "Documentation": "{\"openapi\": \"3.0.1\", \"paths\": {}}",
         "NLDocumentation": "PublicHolidayPublicHolidaysV3: Get public holidays\nParameters: {...}",
         "Function_Description": {
             "PublicHolidayPublicHolidaysV3": "Get public holidays\nParameters: {\"year\": \"Required. integer. \"}\nOutput: Success.",
             "PublicHolidayIsTodayPublicHoliday": "Is today a public holiday\nParameters: {\"countryCode\": \"Required. string.\"}"}},
    ),
    "gorilla_apibench": (
        "https://github.com/ShishirPatil/gorilla/blob/main/data/api/huggingface_api.jsonl (APIBench: domain, framework, "
        "functionality, api_name, api_call, api_arguments, python_environment_requirements, example_code, performance, "
        "description)",
        {"domain": "Natural Language Processing Text Generation", "framework": "Hugging Face Transformers",
         "functionality": "Feature Extraction", "api_name": "facebook/bart-base",
         "api_call": "BartModel.from_pretrained('facebook/bart-base')", "api_arguments": ["inputs"],
         "python_environment_requirements": ["transformers"],
         "example_code": "from transformers import BartTokenizer, BartModel\ntokenizer = BartTokenizer.from_pretrained('facebook/bart-base')",
         "performance": {"dataset": "arxiv", "accuracy": "Not provided"},
         "description": "BART is a transformer encoder-decoder (seq2seq) model with a bidirectional encoder and an "
                        "autoregressive decoder, effective for text generation such as summarization and translation."},
    ),
    "langchain": (
        "https://python.langchain.com/docs/concepts/tools/ (BaseTool: name, description, args as {arg: JSON Schema})",
        {"name": "multiply", "description": "Multiply two integers together.",
         "args": {"a": {"title": "A", "type": "integer"}, "b": {"title": "B", "type": "integer"}}},
    ),
    "llamaindex": (
        "https://docs.llamaindex.ai/en/stable/module_guides/deploying/agents/tools/ (ToolMetadata: name, description, "
        "fn_schema as JSON Schema)",
        {"name": "search_documents", "description": "Search the indexed company documents and return the best passages.",
         "fn_schema": {"title": "SearchInput", "type": "object", "properties": {
             "query": {"title": "Query", "type": "string", "description": "What to look for"},
             "top_k": {"title": "Top K", "type": "integer", "default": 3}}, "required": ["query"]}},
    ),
    "smolagents": (
        "https://huggingface.co/docs/smolagents/tutorials/tools (Tool: name, description, inputs {arg: {type, "
        "description, nullable}}, output_type)",
        {"name": "model_download_counter", "description": "This is a tool that returns the most downloaded model of a "
         "given task on the Hugging Face Hub. It returns the name of the checkpoint.",
         "inputs": {"task": {"type": "string", "description": "the task category (such as text-classification, depth-estimation, etc)"}},
         "output_type": "string"},
    ),
    "a2a_agent_card": (
        "https://a2a-protocol.org/latest/specification/ (AgentCard: name, description, url, provider, version, "
        "capabilities, defaultInputModes, skills[{id, name, description, tags, examples}])",
        {"protocolVersion": "0.3.0", "name": "Recipe Agent", "description": "Agent that helps users with recipes and cooking.",
         "url": "https://api.example.com/a2a/v1", "provider": {"organization": "Example Org", "url": "https://example.com"},
         "version": "1.0.0", "capabilities": {"streaming": True, "pushNotifications": False},
         "defaultInputModes": ["text/plain"], "defaultOutputModes": ["text/plain"],
         "skills": [{"id": "find-recipe", "name": "Find Recipe", "description": "Finds recipes from a list of ingredients.",
                     "tags": ["cooking", "recipes"], "examples": ["What can I cook with eggs and spinach?"]},
                    {"id": "convert-units", "name": "Convert Units", "description": "Converts cooking measurements.",
                     "tags": ["cooking", "units"], "examples": ["How many grams is a cup of flour?"]}]},
    ),
    "openai_plugin_manifest": (
        "https://platform.openai.com/docs/plugins/getting-started (ai-plugin.json: schema_version, name_for_human, "
        "name_for_model, description_for_human, description_for_model, auth, api, logo_url, contact_email, legal_info_url)",
        {"schema_version": "v1", "name_for_human": "TODO List", "name_for_model": "todo",
         "description_for_human": "Manage your TODO list. You can add, remove and view your TODOs.",
         "description_for_model": "Plugin for managing a TODO list, you can add, remove and view your TODOs.",
         "auth": {"type": "none"}, "api": {"type": "openapi", "url": "http://localhost:3333/openapi.yaml"},
         "logo_url": "http://localhost:3333/logo.png", "contact_email": "support@example.com",
         "legal_info_url": "http://www.example.com/legal"},
    ),
    # Envelopes: a tool under one key, read by rule (any key), never flattened as key paths.
    "bedrock_converse_tool": (
        "https://docs.aws.amazon.com/bedrock/latest/userguide/tool-use-inference-call.html (Converse API Tool: "
        "{toolSpec: {name, description, inputSchema: {json: <JSON Schema>}}})",
        TOP_SONG,
    ),
    "bedrock_converse_tool_config": (
        "https://docs.aws.amazon.com/bedrock/latest/userguide/tool-use-inference-call.html (Converse API "
        "toolConfig: {tools: [{toolSpec}...], toolChoice: {tool: {name}}})",
        {"toolConfig": {"tools": [TOP_SONG, {"toolSpec": {
            "name": "station_schedule", "description": "List the shows a radio station airs on a given day.",
            "inputSchema": {"json": {"type": "object", "properties": {
                "sign": {"type": "string", "description": "The call sign of the radio station, such as WZPZ."},
                "day": {"type": "string", "description": "Day of the week."}}, "required": ["sign"]}}}}],
            "toolChoice": {"tool": {"name": "top_song"}}}},
    ),
    "bedrock_agent_function_schema": (
        "https://docs.aws.amazon.com/bedrock/latest/userguide/agents-action-function.html (agent action group "
        "functionSchema: {functions: [{name, description, parameters: {p: {description, type, required}}}]})",
        {"functionSchema": {"functions": [{
            "name": "BookHotel", "description": "Book a hotel room for the user.",
            "parameters": {
                "HotelName": {"description": "The name of the hotel", "type": "string", "required": True},
                "CheckinDate": {"description": "The date of check-in", "type": "string", "required": True},
                "NumberOfNights": {"description": "The number of nights to stay", "type": "integer", "required": False},
                "Email": {"description": "An email address to contact the user", "type": "string", "required": True},
                "AllowMarketingEmails": {"description": "Whether to allow promotional emails to be sent to the user",
                                         "type": "boolean", "required": True}},
            "requireConfirmation": "DISABLED"}]}},
    ),
    # A parameter map under a key no reader table knows: read as parameters, never dropped.
    "cohere_v1_parameter_definitions": (
        "https://docs.cohere.com/v1/docs/parameter-types-in-tool-use (Cohere v1 chat tools: {name, description, "
        "parameter_definitions: {p: {description, type, required}}})",
        {"name": "query_daily_sales_report",
         "description": "Connects to a database to retrieve overall sales volumes and sales information for a given day.",
         "parameter_definitions": {"day": {"description": "Retrieves sales data for this day, formatted as YYYY-MM-DD.",
                                           "type": "str", "required": True}}},
    ),
    "unknown_key_request_body": (
        "https://spec.openapis.org/oas/v3.1.0#request-body-object (a function record carrying an OpenAPI "
        "requestBody {description, required, content: {media type: {schema}}} beside its own fields)",
        {"name": "createPet", "description": "Create a pet in the store.",
         "requestBody": {"description": "Pet to add to the store", "required": True, "content": {"application/json": {
             "schema": {"type": "object", "required": ["name"], "properties": {
                 "name": {"type": "string", "description": "Name the pet answers to"},
                 "tag": {"type": "string", "description": "Free-form tag, such as a breed"}}}}}}},
    ),
}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        if old.stem not in FIXTURES:
            old.unlink()
    options = NormalizeOptions(max_chars=MAX_CHARS)
    for name, (source, doc) in FIXTURES.items():
        out = normalize_tool(ToolInput(json.dumps(doc, ensure_ascii=False)), options)
        fixture = {"format": name, "source": source, "max_chars": MAX_CHARS, "input": doc,
                   "expected": out.text, "detail": out.detail, "fallback": out.fallback}
        (OUT / f"{name}.json").write_text(json.dumps(fixture, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"{name:24} {out.detail:28} {out.text}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
