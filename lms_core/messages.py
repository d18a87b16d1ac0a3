"""Messages of ``lms course check`` in English and Vietnamese.

A trainer reads these, so each says what is wrong and how to fix it, in the
project's language (``language`` in ``lms.toml``).  ``{fields}`` are filled
with :func:`msg`; every key has both languages (a test checks the fields
match).
"""

from __future__ import annotations

MESSAGES: dict[str, tuple[str, str]] = {
    "not_utf8": (
        "not UTF-8 text (save the file as UTF-8)",
        "không phải văn bản UTF-8 (hãy lưu tệp với mã UTF-8)",
    ),
    "read_error": ("cannot read the file: {reason}", "không đọc được tệp: {reason}"),
    "no_index": (
        "the course has no index.md (create it with the course's settings)",
        "khóa học thiếu tệp index.md (hãy tạo tệp này với phần cài đặt của khóa học)",
    ),
    "bad_slug": (
        "'{slug}' is not a valid course folder name (use lower-case letters without "
        "accents, digits and '-', e.g. phong-chong-xam-hai)",
        "'{slug}' không phải tên thư mục khóa học hợp lệ (dùng chữ thường không dấu, chữ số "
        "và '-', ví dụ phong-chong-xam-hai)",
    ),
    "no_front_matter": (
        "the file must start with settings between two '---' lines",
        "tệp phải bắt đầu bằng phần cài đặt nằm giữa hai dòng '---'",
    ),
    "unclosed_front_matter": (
        "the settings block is not closed (add a line '---' after the settings)",
        "phần cài đặt chưa được đóng (thêm một dòng '---' sau phần cài đặt)",
    ),
    "yaml_error": (
        "cannot read the settings: {reason} (check the indentation and the ':' after each key)",
        "không đọc được phần cài đặt: {reason} (kiểm tra thụt lề và dấu ':' sau mỗi khóa)",
    ),
    "not_mapping": (
        "the settings must be 'key: value' lines",
        "phần cài đặt phải gồm các dòng 'khóa: giá trị'",
    ),
    "unknown_key": ("unknown setting '{key}'{hint}", "cài đặt không hợp lệ '{key}'{hint}"),
    "missing_key": (
        "missing setting '{key}' (add a line '{key}: …')",
        "thiếu cài đặt '{key}' (thêm dòng '{key}: …')",
    ),
    "bad_value": ("setting '{key}': {reason}", "cài đặt '{key}': {reason}"),
    "missing_lesson": (
        "lesson '{slug}' is listed in 'lessons' but there is no file NN-{slug}.md",
        "bài '{slug}' có trong 'lessons' nhưng không có tệp NN-{slug}.md",
    ),
    "unlisted_lesson": (
        "lesson '{slug}' is not listed in 'lessons', so it is not part of the course",
        "bài '{slug}' không có trong 'lessons' nên không thuộc khóa học",
    ),
    "duplicate_lesson": (
        "two lessons have the slug '{slug}' (also {other}); rename one file",
        "hai bài học cùng tên '{slug}' (cả {other}); hãy đổi tên một tệp",
    ),
    "not_a_lesson": (
        "'{name}' is not named like a lesson (NN-slug.md, e.g. 01-gioi-thieu.md)",
        "'{name}' không đặt tên theo dạng bài học (NN-ten-bai.md, ví dụ 01-gioi-thieu.md)",
    ),
    "no_lessons": (
        "the course has no lessons (add files 01-….md)",
        "khóa học chưa có bài học nào (thêm các tệp 01-….md)",
    ),
    "duplicate_exercise": (
        "exercise id '{id}' is used twice in the course (also {other}); ids must be unique",
        "mã bài tập '{id}' bị dùng hai lần trong khóa học (cả {other}); mã phải khác nhau",
    ),
    "unknown_exercise": (
        "no installed plugin provides the exercise type '{kind}'{hint}",
        "không có plugin nào cung cấp loại bài tập '{kind}'{hint}",
    ),
    "missing_anchor": (
        "there is no heading '#{anchor}' in {target}",
        "không có tiêu đề '#{anchor}' trong {target}",
    ),
    "missing_target": (
        "'{target}' does not exist in the course folder",
        "'{target}' không có trong thư mục khóa học",
    ),
    "outside": (
        "'{target}' points outside the course folder (keep files inside it and link to them "
        "as images/…)",
        "'{target}' trỏ ra ngoài thư mục khóa học (hãy để tệp trong thư mục và liên kết "
        "dạng images/…)",
    ),
    "symlink": (
        "'{target}' is a symbolic link (copy the file into the course folder instead)",
        "'{target}' là liên kết tượng trưng (hãy chép tệp vào thư mục khóa học)",
    ),
    "bad_scheme": (
        "link '{target}' is not allowed (use https:// web links or files of the course)",
        "liên kết '{target}' không được phép (dùng liên kết https:// hoặc tệp của khóa học)",
    ),
    "unknown_prerequisite": (
        "prerequisite '{slug}' is not a course{hint}",
        "khóa học tiên quyết '{slug}' không tồn tại{hint}",
    ),
    "prerequisite_cycle": (
        "prerequisites form a cycle: {cycle} (remove one of them)",
        "các khóa học tiên quyết tạo thành vòng lặp: {cycle} (hãy bỏ bớt một khóa)",
    ),
    "final_missing": (
        "the completion rule names exercise '{id}', which is not in the course{hint}",
        "quy tắc hoàn thành nêu bài tập '{id}' nhưng khóa học không có bài này{hint}",
    ),
    "final_needs_exercise": (
        "completion rule 'final' needs 'exercise: <id of the final graded quiz>'",
        "quy tắc 'final' cần thêm 'exercise: <mã bài kiểm tra cuối>'",
    ),
    "final_not_graded": (
        "the final exercise '{id}' must be graded (add 'graded' to its first line)",
        "bài tập cuối '{id}' phải là bài có chấm điểm (thêm 'graded' vào dòng đầu của nó)",
    ),
    "big_image": (
        "image '{target}' is {size} KB; learners pay for their data: keep images under 200 KB",
        "ảnh '{target}' nặng {size} KB; người học phải trả tiền dữ liệu: hãy giữ ảnh dưới 200 KB",
    ),
    "too_long": (
        "the lesson has about {words} words, far more than its {minutes} minutes (raise "
        "'minutes' or split the lesson)",
        "bài có khoảng {words} từ, dài hơn nhiều so với {minutes} phút (tăng 'minutes' hoặc "
        "chia nhỏ bài)",
    ),
    "unused_file": (
        "'{name}' is not used by any page (remove it, or link to it)",
        "'{name}' không được trang nào sử dụng (xóa tệp hoặc liên kết tới nó)",
    ),
    "no_alt": (
        "image '{target}' has no description (write it between the brackets: ![mô tả](…))",
        "ảnh '{target}' thiếu mô tả (viết mô tả trong ngoặc vuông: ![mô tả](…))",
    ),
    "raw_html": (
        "raw HTML is not shown on the site (write Markdown instead, or set raw_html = "
        '"sanitised" under [site] in lms.toml)',
        "mã HTML không được hiển thị trên trang (hãy viết bằng Markdown, hoặc đặt raw_html = "
        '"sanitised" trong mục [site] của lms.toml)',
    ),
    "course_missing": (
        "there is no course '{slug}' in {folder}{hint}",
        "không có khóa học '{slug}' trong {folder}{hint}",
    ),
    "did_you_mean": (" (did you mean '{word}'?)", " (có phải là '{word}'?)"),
}


def msg(key: str, language: str, /, **fields: object) -> str:
    """The message ``key`` in ``language`` ('vi' or 'en'; anything else: 'vi')."""
    english, vietnamese = MESSAGES[key]
    return (english if language == "en" else vietnamese).format(**fields)


def suggestion(word: str, choices: list[str], language: str) -> str:
    """ " (did you mean 'x'?)" in ``language``, or '' when nothing is close."""
    import difflib

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return msg("did_you_mean", language, word=close[0]) if close else ""
