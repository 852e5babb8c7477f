"""Per-language tree-sitter rules for the code normalizer, as data.

One :class:`LanguageRules` row per language, like sqlglot's dialect flags: the
walker in :mod:`toolrank.normalize.code.walk` is generic and only reads these
tables. Each language comes from its own grammar wheel (``module`` and
``loader`` name the function that returns the grammar pointer).

To support a new language, add a row: which node types define things (and what
to call them), where the name, parameters and body sit, which nodes are
comments, decorators, calls, imports, strings and identifiers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Mapping

# Kind labels the output uses for definitions.
FUNCTION = "function"
METHOD = "method"
CLASS = "class"
INTERFACE = "interface"
STRUCT = "struct"
ENUM = "enum"
TRAIT = "trait"
IMPL = "impl"
MODULE = "module"
TYPE = "type"
PROPERTY = "property"


@dataclass(frozen=True)
class LanguageRules:
    """How to read one language's syntax tree.

    ``definitions`` maps a node type to its kind label; a ``function`` nested
    directly in a ``class``-like definition is reported as a ``method``.
    ``calls`` maps a call node type to the fields naming the callee: one field
    (the callee expression) or two (receiver, then method name).
    ``assigned_functions`` maps a declarator type to (name field, value field,
    value types that make it a function), for ``const f = () => ...``.
    ``wrappers`` are nodes wrapping a definition whose text belongs to its
    header (decorators, ``export``, ``template <...>``).
    ``keywords`` are definition keywords the kind label replaces.
    """

    name: str
    module: str
    loader: str = "language"
    aliases: tuple[str, ...] = ()
    extensions: tuple[str, ...] = ()
    definitions: Mapping[str, str] = field(default_factory=dict)
    name_fields: tuple[str, ...] = ("name",)
    body_fields: tuple[str, ...] = ("body",)
    wrappers: frozenset[str] = frozenset()
    comments: frozenset[str] = frozenset({"comment"})
    docstring_in_body: bool = False
    decorators: frozenset[str] = frozenset()
    calls: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    imports: frozenset[str] = frozenset()
    strings: frozenset[str] = frozenset()
    identifiers: frozenset[str] = frozenset({"identifier"})
    keywords: frozenset[str] = frozenset()
    assigned_functions: Mapping[str, tuple[str, str, frozenset[str]]] = field(default_factory=dict)
    self_names: frozenset[str] = frozenset({"self", "this", "cls", "super"})
    body_required: frozenset[str] = frozenset()


_JS_DEFS = {
    "function_declaration": FUNCTION,
    "generator_function_declaration": FUNCTION,
    "method_definition": METHOD,
    "class_declaration": CLASS,
    "class": CLASS,
}
_JS_CALLS = {"call_expression": ("function",), "new_expression": ("constructor",)}
_JS_ASSIGNED = {
    "variable_declarator": (
        "name",
        "value",
        frozenset({"arrow_function", "function_expression", "function", "generator_function"}),
    ),
}
_JS_IDENTS = frozenset({"identifier", "property_identifier", "shorthand_property_identifier"})
_JS_KEYWORDS = frozenset({"function", "class", "function*"})

_TS_DEFS = {
    **_JS_DEFS,
    "abstract_class_declaration": CLASS,
    "interface_declaration": INTERFACE,
    "enum_declaration": ENUM,
    "type_alias_declaration": TYPE,
    "function_signature": FUNCTION,
    "method_signature": METHOD,
    "abstract_method_signature": METHOD,
    "internal_module": MODULE,
}

_C_DEFS = {
    "function_definition": FUNCTION,
    "struct_specifier": STRUCT,
    "union_specifier": STRUCT,
    "enum_specifier": ENUM,
}

_C_BODY_REQUIRED = frozenset({"struct_specifier", "union_specifier", "enum_specifier"})

RULES: tuple[LanguageRules, ...] = (
    LanguageRules(
        name="python",
        module="tree_sitter_python",
        aliases=("py", "python3", "py3", "pyi", "sage"),
        extensions=("py", "pyi", "pyw", "pyx"),
        definitions={"function_definition": FUNCTION, "class_definition": CLASS},
        wrappers=frozenset({"decorated_definition"}),
        docstring_in_body=True,
        decorators=frozenset({"decorator"}),
        calls={"call": ("function",)},
        imports=frozenset({"import_statement", "import_from_statement", "future_import_statement"}),
        strings=frozenset({"string", "concatenated_string"}),
        keywords=frozenset({"def", "class"}),
    ),
    LanguageRules(
        name="javascript",
        module="tree_sitter_javascript",
        aliases=("js", "node", "nodejs", "jsx", "ecmascript", "es6", "mjs", "cjs"),
        extensions=("js", "jsx", "mjs", "cjs"),
        definitions=_JS_DEFS,
        wrappers=frozenset({"export_statement"}),
        decorators=frozenset({"decorator"}),
        calls=_JS_CALLS,
        imports=frozenset({"import_statement"}),
        strings=frozenset({"string", "template_string"}),
        identifiers=_JS_IDENTS,
        keywords=_JS_KEYWORDS,
        assigned_functions=_JS_ASSIGNED,
    ),
    LanguageRules(
        name="typescript",
        module="tree_sitter_typescript",
        loader="language_typescript",
        aliases=("ts", "mts", "cts"),
        extensions=("ts", "mts", "cts"),
        definitions=_TS_DEFS,
        wrappers=frozenset({"export_statement"}),
        decorators=frozenset({"decorator"}),
        calls=_JS_CALLS,
        imports=frozenset({"import_statement"}),
        strings=frozenset({"string", "template_string"}),
        identifiers=_JS_IDENTS | {"type_identifier"},
        keywords=_JS_KEYWORDS | {"interface", "enum", "type", "namespace", "module"},
        assigned_functions=_JS_ASSIGNED,
    ),
    LanguageRules(
        name="tsx",
        module="tree_sitter_typescript",
        loader="language_tsx",
        aliases=("typescriptreact", "typescript-react"),
        extensions=("tsx",),
        definitions=_TS_DEFS,
        wrappers=frozenset({"export_statement"}),
        decorators=frozenset({"decorator"}),
        calls=_JS_CALLS,
        imports=frozenset({"import_statement"}),
        strings=frozenset({"string", "template_string"}),
        identifiers=_JS_IDENTS | {"type_identifier"},
        keywords=_JS_KEYWORDS | {"interface", "enum", "type", "namespace", "module"},
        assigned_functions=_JS_ASSIGNED,
    ),
    LanguageRules(
        name="java",
        module="tree_sitter_java",
        aliases=("jav",),
        extensions=("java",),
        definitions={
            "method_declaration": METHOD,
            "constructor_declaration": METHOD,
            "class_declaration": CLASS,
            "interface_declaration": INTERFACE,
            "enum_declaration": ENUM,
            "record_declaration": CLASS,
            "annotation_type_declaration": INTERFACE,
        },
        comments=frozenset({"line_comment", "block_comment", "comment"}),
        decorators=frozenset({"annotation", "marker_annotation"}),
        calls={"method_invocation": ("object", "name"), "object_creation_expression": ("type",)},
        imports=frozenset({"import_declaration"}),
        strings=frozenset({"string_literal", "text_block"}),
        identifiers=frozenset({"identifier", "type_identifier"}),
        keywords=frozenset({"class", "interface", "enum", "record", "@interface"}),
    ),
    LanguageRules(
        name="go",
        module="tree_sitter_go",
        aliases=("golang",),
        extensions=("go",),
        definitions={
            "function_declaration": FUNCTION,
            "method_declaration": METHOD,
            "type_spec": TYPE,
        },
        calls={"call_expression": ("function",)},
        imports=frozenset({"import_spec"}),
        strings=frozenset({"interpreted_string_literal", "raw_string_literal"}),
        identifiers=frozenset({"identifier", "field_identifier", "type_identifier", "package_identifier"}),
        keywords=frozenset({"func"}),
    ),
    LanguageRules(
        name="rust",
        module="tree_sitter_rust",
        aliases=("rs",),
        extensions=("rs",),
        definitions={
            "function_item": FUNCTION,
            "function_signature_item": FUNCTION,
            "struct_item": STRUCT,
            "enum_item": ENUM,
            "union_item": STRUCT,
            "trait_item": TRAIT,
            "impl_item": IMPL,
            "mod_item": MODULE,
            "type_item": TYPE,
            "macro_definition": FUNCTION,
        },
        name_fields=("name", "type"),
        comments=frozenset({"line_comment", "block_comment"}),
        decorators=frozenset({"attribute_item", "inner_attribute_item"}),
        calls={"call_expression": ("function",), "macro_invocation": ("macro",)},
        imports=frozenset({"use_declaration", "extern_crate_declaration"}),
        strings=frozenset({"string_literal", "raw_string_literal"}),
        identifiers=frozenset({"identifier", "field_identifier", "type_identifier"}),
        keywords=frozenset({"fn", "struct", "enum", "union", "trait", "impl", "mod", "type", "macro_rules!"}),
    ),
    LanguageRules(
        name="c",
        module="tree_sitter_c",
        aliases=("h", "ansi-c"),
        extensions=("c", "h"),
        definitions=_C_DEFS,
        body_required=_C_BODY_REQUIRED,
        calls={"call_expression": ("function",)},
        imports=frozenset({"preproc_include"}),
        strings=frozenset({"string_literal", "char_literal"}),
        identifiers=frozenset({"identifier", "field_identifier", "type_identifier"}),
        keywords=frozenset({"struct", "union", "enum"}),
    ),
    LanguageRules(
        name="cpp",
        module="tree_sitter_cpp",
        aliases=("c++", "cxx", "hpp", "cc", "hxx"),
        extensions=("cpp", "cc", "cxx", "c++", "hpp", "hh", "hxx", "h++", "ipp", "tpp"),
        definitions={
            **_C_DEFS,
            "class_specifier": CLASS,
            "namespace_definition": MODULE,
        },
        body_required=_C_BODY_REQUIRED | {"class_specifier"},
        wrappers=frozenset({"template_declaration"}),
        decorators=frozenset({"attribute_declaration"}),
        calls={"call_expression": ("function",), "new_expression": ("type",)},
        imports=frozenset({"preproc_include", "using_declaration"}),
        strings=frozenset({"string_literal", "raw_string_literal", "char_literal"}),
        identifiers=frozenset(
            {"identifier", "field_identifier", "type_identifier", "namespace_identifier"}
        ),
        keywords=frozenset({"struct", "union", "enum", "class", "namespace"}),
    ),
    LanguageRules(
        name="csharp",
        module="tree_sitter_c_sharp",
        aliases=("cs", "c#", "c-sharp", "c_sharp", "dotnet"),
        extensions=("cs", "csx"),
        definitions={
            "method_declaration": METHOD,
            "constructor_declaration": METHOD,
            "local_function_statement": FUNCTION,
            "class_declaration": CLASS,
            "interface_declaration": INTERFACE,
            "struct_declaration": STRUCT,
            "record_declaration": CLASS,
            "enum_declaration": ENUM,
            "property_declaration": PROPERTY,
            "namespace_declaration": MODULE,
        },
        decorators=frozenset({"attribute_list"}),
        calls={"invocation_expression": ("function",), "object_creation_expression": ("type",)},
        imports=frozenset({"using_directive"}),
        strings=frozenset(
            {"string_literal", "verbatim_string_literal", "raw_string_literal", "interpolated_string_expression"}
        ),
        keywords=frozenset({"class", "interface", "struct", "record", "enum", "namespace"}),
    ),
    LanguageRules(
        name="ruby",
        module="tree_sitter_ruby",
        aliases=("rb", "jruby", "rake", "gemspec"),
        extensions=("rb", "rake", "gemspec", "ru"),
        definitions={
            "method": METHOD,
            "singleton_method": METHOD,
            "class": CLASS,
            "singleton_class": CLASS,
            "module": MODULE,
        },
        calls={"call": ("receiver", "method")},
        imports=frozenset(),
        strings=frozenset({"string", "simple_symbol", "heredoc_body"}),
        identifiers=frozenset({"identifier", "constant"}),
        keywords=frozenset({"def", "class", "module"}),
    ),
    LanguageRules(
        name="php",
        module="tree_sitter_php",
        loader="language_php",
        aliases=("php3", "php4", "php5", "php7", "php8"),
        extensions=("php", "phtml", "php3", "php4", "php5", "phps"),
        definitions={
            "function_definition": FUNCTION,
            "method_declaration": METHOD,
            "class_declaration": CLASS,
            "interface_declaration": INTERFACE,
            "trait_declaration": TRAIT,
            "enum_declaration": ENUM,
        },
        decorators=frozenset({"attribute_list"}),
        calls={
            "function_call_expression": ("function",),
            "member_call_expression": ("object", "name"),
            "nullsafe_member_call_expression": ("object", "name"),
            "scoped_call_expression": ("scope", "name"),
            "object_creation_expression": ("class",),
        },
        imports=frozenset({"namespace_use_declaration", "require_once_expression", "include_expression"}),
        strings=frozenset({"string", "encapsed_string", "heredoc", "nowdoc"}),
        identifiers=frozenset({"name"}),
        keywords=frozenset({"function", "class", "interface", "trait", "enum"}),
        self_names=frozenset({"self", "this", "$this", "parent", "static"}),
    ),
    LanguageRules(
        name="bash",
        module="tree_sitter_bash",
        aliases=("sh", "shell", "zsh", "ksh", "shellscript", "console"),
        extensions=("sh", "bash", "zsh", "ksh", "bashrc", "profile"),
        definitions={"function_definition": FUNCTION},
        calls={"command": ("name",)},
        imports=frozenset(),
        strings=frozenset({"string", "raw_string", "ansi_c_string", "heredoc_body"}),
        identifiers=frozenset({"variable_name"}),
        keywords=frozenset({"function"}),
    ),
)

BY_NAME: dict[str, LanguageRules] = {rules.name: rules for rules in RULES}

ALIASES: dict[str, str] = {}
for _rules in RULES:
    ALIASES[_rules.name] = _rules.name
    for _alias in _rules.aliases:
        ALIASES[_alias] = _rules.name
ALIASES.update({"golang": "go", "shell-script": "bash", "objective-c": "c", "c#": "csharp"})

EXTENSIONS: dict[str, str] = {ext: rules.name for rules in RULES for ext in rules.extensions}

# Interpreter names on a ``#!`` line.
SHEBANGS: dict[str, str] = {
    "python": "python",
    "python2": "python",
    "python3": "python",
    "node": "javascript",
    "deno": "typescript",
    "ts-node": "typescript",
    "bash": "bash",
    "sh": "bash",
    "zsh": "bash",
    "ksh": "bash",
    "dash": "bash",
    "ruby": "ruby",
    "php": "php",
}

# Cheap detection when neither language nor path says: (language, pattern,
# weight). The highest total wins; nothing scoring above zero means unknown.
_M = re.MULTILINE
DETECTION: tuple[tuple[str, re.Pattern[str], int], ...] = (
    ("php", re.compile(r"<\?php\b"), 10),
    ("php", re.compile(r"\$this->|\bfunction\s+\w+\s*\([^)]*\$\w+"), 4),
    ("python", re.compile(r"^\s*def\s+\w+\s*\(.*\)\s*(->\s*[^:]+)?:\s*$", _M), 5),
    ("python", re.compile(r"^\s*(from\s+[\w.]+\s+import\s|import\s+[\w.]+\s*$)", _M), 3),
    ("python", re.compile(r"^\s*class\s+\w+(\(.*\))?:\s*$", _M), 4),
    ("python", re.compile(r"\bself\.\w+|\belif\b|\bNone\b|^\s*@\w+", _M), 1),
    ("ruby", re.compile(r"^\s*def\s+[\w.?!]+(\s*\(.*\))?\s*$", _M), 3),
    ("ruby", re.compile(r"^\s*end\s*$", _M), 3),
    ("ruby", re.compile(r"^\s*(require|require_relative)\s+['\"]|\bputs\b|\battr_accessor\b|\.each\s+do\b", _M), 2),
    ("go", re.compile(r"^package\s+\w+\s*$", _M), 5),
    ("go", re.compile(r"^func\s+(\([^)]*\)\s*)?\w+\s*\(", _M), 5),
    ("go", re.compile(r":=|\bfmt\.\w+"), 1),
    ("rust", re.compile(r"^\s*(pub(\([^)]*\))?\s+)?fn\s+\w+", _M), 5),
    ("rust", re.compile(r"\blet\s+mut\b|\bimpl\b|->\s*Self\b|::new\(|#\[derive|\bprintln!"), 3),
    ("c", re.compile(r"^\s*#\s*include\s*[<\"]", _M), 3),
    ("c", re.compile(r"\b(malloc|printf|sizeof|NULL)\b"), 1),
    ("cpp", re.compile(r"\bstd::|\btemplate\s*<|\bnamespace\s+\w+\s*\{|\bcout\s*<<|::\w+\s*\(|\bpublic:"), 3),
    ("java", re.compile(r"\b(public|private|protected)\s+(static\s+)?(final\s+)?[\w<>\[\]]+\s+\w+\s*\("), 3),
    ("java", re.compile(r"\bSystem\.out\.|^\s*import\s+java\.|@Override\b", _M), 4),
    ("csharp", re.compile(r"^\s*using\s+System|\{\s*get;|\bConsole\.Write|\bnamespace\s+[\w.]+", _M), 4),
    ("javascript", re.compile(r"\bfunction\s*\w*\s*\(|=>|\bconst\s+\w+\s*=|\blet\s+\w+\s*=", _M), 2),
    ("javascript", re.compile(r"\brequire\(|\bconsole\.log\(|\bmodule\.exports\b|\bdocument\.|\bexport\s+default\b"), 3),
    ("typescript", re.compile(r"\binterface\s+\w+\s*\{|:\s*(string|number|boolean|void|any)\b|\bimport\s+\{[^}]*\}\s+from\b"), 3),
    ("bash", re.compile(r"^\s*(if\s+\[|fi$|then$|done$|do$|esac$|echo\s|export\s+\w+=)", _M), 3),
    ("bash", re.compile(r"\$\{?\w+\}?|\|\s*grep\b"), 1),
)
