"""The evaluation set of `bench/kb_quality.py`: documents nobody on the team wrote, and questions about them.

Documents: the `pydoc` text of standard-library modules (the first `DOC_CHARS`
characters of each, as this Python prints it), plus Chinese documents that
Debian machines carry (Vim's Chinese tutor, GnuPG's Chinese help, systemd's
Chinese message catalog); a missing Chinese file is left out with its questions.

Questions: `paraphrase` (says what it wants in other words than the document),
`keyword` (an exact name from the document), `chinese` (through jieba), and
`none` (the base cannot answer). An answer is right when it is a chunk of
`doc` that contains `needle`.

Two parts with different documents and questions: `TUNING`, on which the
fusion and the MiniLM calibration were chosen, and `HELD_OUT`, which only measures.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DOC_CHARS = 12_000


@dataclass(frozen=True)
class Question:
    text: str
    kind: str  # paraphrase, keyword, chinese or none
    doc: str | None = None  # file name in the base
    needle: str | None = None  # text the right chunk contains


@dataclass(frozen=True)
class EvalSet:
    name: str
    modules: tuple[str, ...]
    chinese: dict[str, Path]  # file name in the base -> where it is on this machine
    questions: tuple[Question, ...]


def _q(kind: str, rows: list[tuple[str, str, str]]) -> list[Question]:
    return [Question(text, kind, f"{doc}.txt" if "." not in doc else doc, needle) for text, doc, needle in rows]


def _none(texts: list[str]) -> list[Question]:
    return [Question(text, "none") for text in texts]


VIM_TUTOR = Path("/usr/share/vim/vim90/tutor/tutor.zh_cn.utf-8")
GNUPG_HELP = Path("/usr/share/gnupg/help.zh_CN.txt")
SYSTEMD_CATALOG = Path("/usr/lib/systemd/catalog/systemd.zh_CN.catalog")

TUNING = EvalSet(
    name="tuning",
    modules=tuple(
        "heapq bisect textwrap fnmatch glob tempfile zlib base64 hashlib secrets statistics calendar getpass "
        "uuid sched colorsys shlex difflib gzip string".split()
    ),
    chinese={"vim_tutor.txt": VIM_TUTOR, "gnupg_help.txt": GNUPG_HELP},
    questions=tuple(
        _q(
            "paraphrase",
            [
                (
                    "How can I add an item to a priority queue and take out the smallest in one step?",
                    "heapq",
                    "heappushpop",
                ),
                ("Which function turns an ordinary list into a min-heap in place, in linear time?", "heapq", "heapify"),
                ("How do I get the few biggest elements of a dataset without sorting all of it?", "heapq", "nlargest"),
                ("Combine several already sorted inputs into one sorted stream", "heapq", "merge("),
                (
                    "Where should a value go in an ordered list to keep it ordered, before equal entries?",
                    "bisect",
                    "bisect_left",
                ),
                ("Put a value into an ordered list while keeping the ordering", "bisect", "insort"),
                ("Remove the common leading whitespace from every line of a block of text", "textwrap", "dedent"),
                (
                    "Cut a long sentence down to a given width and mark the cut with a placeholder",
                    "textwrap",
                    "shorten",
                ),
                ("Add a prefix at the beginning of chosen lines of a string", "textwrap", "indent("),
                (
                    "Check a file name against a shell-style wildcard pattern, respecting letter case",
                    "fnmatch",
                    "fnmatchcase",
                ),
                ("Turn a shell wildcard pattern into a regular expression", "fnmatch", "translate"),
                ("Go through the paths matching a wildcard lazily instead of building a whole list", "glob", "iglob"),
                ("Protect special characters in a path so that they are matched literally", "glob", "escape("),
                ("Create a scratch directory securely; I will delete it myself when done", "tempfile", "mkdtemp"),
                (
                    "A file kept in memory until it grows past a size, then written to disk",
                    "tempfile",
                    "SpooledTemporaryFile",
                ),
                ("Compute a checksum that is quicker than CRC but not as reliable", "zlib", "adler32"),
                ("Decompress data that does not fit in memory at once, piece by piece", "zlib", "decompressobj"),
                (
                    "Encode binary data with an alphabet that is safe in URLs and file names",
                    "base64",
                    "urlsafe_b64encode",
                ),
                ("Derive a key from a password by iterating a keyed hash many times", "hashlib", "pbkdf2_hmac"),
                ("Hash the contents of an open file object efficiently", "hashlib", "file_digest"),
                ("Generate a random token that is safe to put in a web address", "secrets", "token_urlsafe"),
                ("Compare two strings in a way that resists timing attacks", "secrets", "compare_digest"),
                ("Pick a random integer below an upper bound for security purposes", "secrets", "randbelow"),
                ("Given a probability, which value has that share of a bell curve below it?", "statistics", "inv_cdf"),
                ("How much do two Gaussian distributions have in common?", "statistics", "overlap(self, other)"),
                (
                    "Estimate the mean and spread of a normal distribution from measured data",
                    "statistics",
                    "from_samples",
                ),
                ("Change which day a week starts with in a calendar object", "calendar", "setfirstweekday"),
                ("Produce a whole year as a complete web page", "calendar", "formatyearpage"),
                ("Read a password from the terminal without showing what is typed", "getpass", "Prompt for a password"),
                ("Find out the login name of the person running the program", "getpass", "getuser()"),
                ("Make a unique identifier out of random numbers", "uuid", "uuid4() creates a random UUID"),
                ("Make an identifier from a SHA-1 hash of a namespace and a name", "uuid", "uuid5"),
                ("Remove a planned event from the queue before it runs", "sched", "cancel(self, event)"),
                ("Plan something to happen after a delay counted from now", "sched", "enter(self, delay"),
                ("Convert a colour from red, green and blue to hue, saturation and value", "colorsys", "rgb_to_hsv"),
                ("Split a command line into arguments the way a Unix shell would", "shlex", "split("),
                ("Escape a string so it is safe as one argument of a shell command", "shlex", "quote("),
                ("Show two files side by side as a table for a web page", "difflib", "make_table"),
                ("Which error is raised when a compressed file has a bad header?", "gzip", "BadGzipFile"),
                ("Fill in placeholders marked with dollar signs in a text", "string", "Template"),
            ],
        )
        + _q(
            "keyword",
            [
                ("heapreplace", "heapq", "heapreplace"),
                ("insort_right", "bisect", "insort_right"),
                ("break_long_words", "textwrap", "break_long_words"),
                ("NamedTemporaryFile", "tempfile", "NamedTemporaryFile"),
                ("crc32 value", "zlib", "crc32"),
                ("b32hexdecode", "base64", "b32hexdecode"),
                ("blake2b digest_size", "hashlib", "blake2b"),
                ("token_hex nbytes", "secrets", "token_hex"),
                ("NormalDist zscore", "statistics", "zscore"),
                ("itermonthdates", "calendar", "itermonthdates"),
                ("GetPassWarning", "getpass", "GetPassWarning"),
                ("SafeUUID", "uuid", "SafeUUID"),
                ("enterabs", "sched", "enterabs"),
                ("rgb_to_yiq", "colorsys", "rgb_to_yiq"),
                ("wrapcolumn", "difflib", "wrapcolumn"),
            ],
        )
        + _q(
            "chinese",
            [
                ("如何保存文件并退出 Vim？", "vim_tutor.txt", ":wq"),
                ("怎样撤消最后执行的命令？", "vim_tutor.txt", "撤消最后执行的命令"),
                ("在正常模式下怎么插入文本？", "vim_tutor.txt", "i 键来插入文本"),
                ("怎么替换光标所在位置的字符？", "vim_tutor.txt", "r 和一个字符替换"),
                ("哪种算法只能用作签名？", "gnupg_help.txt", "数字签名算法"),
                ("用同一把密钥签名及加密是个好主意吗？", "gnupg_help.txt", "同一把密钥签名及加密"),
            ],
        )
        + _none(
            [
                "How do I bake sourdough bread with a starter?",
                "What is the capital city of Australia?",
                "How do I connect to a PostgreSQL database and run a query?",
                "Which HTTP status code means a resource was moved permanently?",
                "How do I train a neural network with backpropagation?",
                "What time zone does Tokyo use?",
                "How do I send an email with attachments over SMTP?",
                "How do I parse command-line options with subcommands?",
                "How do I resize and crop a JPEG photo?",
                "Who won the football world cup in 2014?",
                "How can I open a TCP socket and listen for connections?",
                "What is the recommended daily dose of vitamin D for adults?",
                "How do I write a regular expression with a named group?",
                "How do I run a cron job every night on Linux?",
                "How do I configure an ingress on Kubernetes?",
            ]
        )
    ),
)

HELD_OUT = EvalSet(
    name="held-out",
    modules=tuple("filecmp queue random timeit copy pprint webbrowser mimetypes netrc graphlib".split()),
    chinese={"systemd_catalog.txt": SYSTEMD_CATALOG},
    questions=tuple(
        _q(
            "paraphrase",
            [
                ("Compare two folders and report which files differ", "filecmp", "dircmp"),
                ("Are two files the same? Can I compare only their size and modification time?", "filecmp", "shallow"),
                ("A queue that hands out the most recently added item first", "queue", "LifoQueue"),
                ("Wait until every item put in a queue has been processed", "queue", "Blocks until all items"),
                ("A queue whose entries come out lowest value first", "queue", "PriorityQueue"),
                ("Pick several elements from a population without repeating any", "random", "sample("),
                ("Put the items of a list in a random order", "random", "shuffle"),
                ("Draw a number from a bell-shaped distribution with a given mean and deviation", "random", "gauss"),
                ("Measure how long a small snippet of code takes to execute", "timeit", "timeit("),
                ("Time a statement several times over and get a list of the results", "timeit", "repeat("),
                ("Duplicate an object together with everything it contains, recursively", "copy", "deepcopy"),
                ("Print a nested data structure nicely laid out over several lines", "pprint", "pprint("),
                ("Get an object's nicely formatted text as a string instead of printing it", "pprint", "pformat"),
                ("Show a page in the user's default browser in a new tab", "webbrowser", "open_new_tab"),
                ("Work out the content type of a file from its name", "mimetypes", "guess_type"),
                ("Which file extension is usually used for a media type?", "mimetypes", "guess_extension"),
                ("Read login credentials for remote hosts from a file in the home directory", "netrc", "netrc"),
                (
                    "Order the nodes of a dependency graph so each comes after what it depends on",
                    "graphlib",
                    "TopologicalSorter",
                ),
                ("What error is raised when a dependency graph has a loop?", "graphlib", "CycleError"),
                ("Process graph nodes in parallel as soon as their predecessors are done", "graphlib", "get_ready"),
            ],
        )
        + _q(
            "keyword",
            [
                ("cmpfiles", "filecmp", "cmpfiles"),
                ("put_nowait", "queue", "put_nowait"),
                ("getrandbits", "random", "getrandbits"),
                ("default_timer", "timeit", "default_timer"),
                ("PrettyPrinter compact", "pprint", "PrettyPrinter"),
                ("register preferred browser", "webbrowser", "register("),
                ("guess_all_extensions", "mimetypes", "guess_all_extensions"),
                ("static_order", "graphlib", "static_order"),
            ],
        )
        + _q(
            "chinese",
            [
                ("某个服务记录了太多消息会怎样？", "systemd_catalog.txt", "记录了太多消息"),
                ("系统关机已开始", "systemd_catalog.txt", "系统关机已开始"),
                ("时区变更的消息", "systemd_catalog.txt", "时区变更为"),
            ],
        )
        + _none(
            [
                "How do I grow tomatoes on a balcony?",
                "What is the speed of light in a vacuum?",
                "How do I create a virtual machine in VirtualBox?",
                "How do I encrypt a disk partition with LUKS?",
                "What are the rules for castling in chess?",
                "How do I centre a div with CSS?",
                "How can I shrink PNG images without losing quality?",
                "How do I set up a firewall with iptables?",
                "What causes inflation in an economy?",
                "How do I read an Excel spreadsheet?",
            ]
        )
    ),
)
