"""Every message the quiz parser reports, in English and Vietnamese.

``MESSAGES[key]`` is ``(English, Vietnamese)``; a key ending in ``.hint`` is the
"how to fix it" part of the message with the same stem.  Templates use
:meth:`str.format` fields; values are inserted as they are (author text with
braces is safe, only the templates are parsed).
"""

from __future__ import annotations

from collections.abc import Iterable

from lms_core.text import did_you_mean

MESSAGES: dict[str, tuple[str, str]] = {
    # -- generic pieces ------------------------------------------------------------
    "did_you_mean": ("did you mean '{name}'?", "có phải bạn muốn viết '{name}'?"),
    "internal_error": (
        "internal error while reading the quiz ({detail})",
        "lỗi nội bộ khi đọc quiz ({detail})",
    ),
    "internal_error.hint": (
        "please report this to the developers, with the quiz text",
        "hãy báo cho nhóm phát triển, kèm nội dung quiz",
    ),
    "model_invalid": (
        "this question cannot be stored: {detail}",
        "không lưu được câu hỏi này: {detail}",
    ),
    "model_invalid.hint": (
        "check the question's answers and settings",
        "hãy kiểm tra lại các đáp án và thiết lập của câu hỏi",
    ),
    # -- the quiz line -------------------------------------------------------------
    "option_unknown": (
        "unknown option '{name}' on the quiz line",
        "dòng quiz có tùy chọn không tồn tại '{name}'",
    ),
    "option_unknown.hint": (
        "the options are: {known}",
        "các tùy chọn hợp lệ: {known}",
    ),
    "id_missing": ("the quiz has no id", "quiz chưa có id"),
    "id_missing.hint": (
        "add id=… to the quiz line, e.g. ```quiz id=kiem-tra-1",
        "hãy thêm id=… vào dòng mở đầu quiz, ví dụ ```quiz id=kiem-tra-1",
    ),
    "id_invalid": ("id '{value}' is not valid", "id '{value}' không hợp lệ"),
    "id_invalid.hint": (
        "use only letters without accents, digits, '-' and '_' (at most 64), e.g. kiem-tra-1",
        "chỉ dùng chữ cái không dấu, chữ số, '-' và '_' (tối đa 64 ký tự), ví dụ kiem-tra-1",
    ),
    "graded_and_practice": (
        "the quiz is marked both graded and practice",
        "quiz vừa ghi graded vừa ghi practice",
    ),
    "graded_and_practice.hint": ("keep one of the two", "chỉ giữ một trong hai"),
    "flag_value": ("'{name}' takes no value", "'{name}' không nhận giá trị"),
    "flag_value.hint": ("write just '{name}'", "chỉ cần viết '{name}'"),
    "option_needs_value": ("'{name}' needs a value", "'{name}' cần có giá trị"),
    "option_needs_value.hint": ("write {example}", "hãy viết {example}"),
    "pass_invalid": (
        "pass mark '{value}' is not a number from 0 to 100",
        "điểm đạt '{value}' không phải là số từ 0 đến 100",
    ),
    "pass_invalid.hint": (
        "write the percent of the maximum score, e.g. pass=80",
        "hãy ghi phần trăm của điểm tối đa, ví dụ pass=80",
    ),
    "int_invalid": (
        "{name}={value} is not a whole number",
        "{name}={value} không phải là số nguyên",
    ),
    "int_invalid.hint": (
        "write a whole number, 0 or more ({meaning}), e.g. {example}",
        "hãy ghi một số nguyên từ 0 trở lên ({meaning}), ví dụ {example}",
    ),
    "meaning.attempts": ("0 means unlimited", "0 là không giới hạn"),
    "meaning.time": ("minutes; 0 means no limit", "tính bằng phút; 0 là không giới hạn"),
    "choice_invalid": (
        "{name}={value} is not valid",
        "{name}={value} không hợp lệ",
    ),
    "choice_invalid.hint": (
        "write one of: {known}",
        "chỉ nhận một trong các giá trị: {known}",
    ),
    "draw_invalid": ("draw={value} cannot be read", "không đọc được draw={value}"),
    "draw_invalid.hint": (
        "write a number of questions (draw=5) or tags with counts of at least 1 "
        "(draw=luat:3,tinh-huong:2)",
        "hãy ghi số câu hỏi (draw=5) hoặc các nhãn kèm số câu, ít nhất là 1 "
        "(draw=luat:3,tinh-huong:2)",
    ),
    "draw_tag_twice": (
        "tag '{tag}' is given twice in draw",
        "nhãn '{tag}' được ghi hai lần trong draw",
    ),
    "draw_tag_twice.hint": ("add the two counts together", "hãy gộp hai số câu làm một"),
    "draw_too_many": (
        "draw takes {count} questions but the quiz has only {available}",
        "draw lấy {count} câu nhưng quiz chỉ có {available} câu",
    ),
    "draw_too_many.hint": (
        "lower the count or add questions (a case study counts as one)",
        "hãy giảm số câu hoặc thêm câu hỏi (mỗi tình huống tính là một câu)",
    ),
    "draw_tag_too_many": (
        "draw takes {count} questions tagged '{tag}' but only {available} have that tag",
        "draw lấy {count} câu có nhãn '{tag}' nhưng chỉ có {available} câu mang nhãn này",
    ),
    "draw_tag_too_many.hint": (
        "lower the count, or add 'tags: {tag}' to more questions",
        "hãy giảm số câu, hoặc thêm 'tags: {tag}' cho các câu hỏi khác",
    ),
    "draw_tag_unknown": (
        "draw uses tag '{tag}' but no question has it",
        "draw dùng nhãn '{tag}' nhưng không câu hỏi nào có nhãn này",
    ),
    "draw_tag_unknown.hint": (
        "add 'tags: {tag}' to the questions to draw from",
        "hãy thêm 'tags: {tag}' vào các câu hỏi cần rút",
    ),
    "no_questions": ("the quiz has no questions", "quiz chưa có câu hỏi nào"),
    "no_questions.hint": (
        "start each question with a line '? …'",
        "mỗi câu hỏi bắt đầu bằng một dòng '? …'",
    ),
    # -- layout --------------------------------------------------------------------
    "outside_text": ("text outside a question", "có nội dung nằm ngoài câu hỏi"),
    "outside_text.hint": (
        "start a question with '? ' (a case study with '## '), or delete this line",
        "hãy bắt đầu câu hỏi bằng '? ' (tình huống bằng '## '), hoặc xóa dòng này",
    ),
    "unexpected_text": (
        "unexpected text after the answers",
        "có nội dung không hợp lệ sau các đáp án",
    ),
    "unexpected_text.hint": (
        "an option fits on one line; feedback lines start with '>'; "
        "a new question starts with '? '",
        "mỗi phương án chỉ nằm trên một dòng; dòng phản hồi bắt đầu bằng '>'; "
        "câu hỏi mới bắt đầu bằng '? '",
    ),
    "scenario_no_title": ("the case study has no title", "tình huống chưa có tiêu đề"),
    "scenario_no_title.hint": (
        "write the title after '## ', e.g. '## Tình huống: Em H., 9 tuổi'",
        "hãy viết tiêu đề sau '## ', ví dụ '## Tình huống: Em H., 9 tuổi'",
    ),
    "scenario_no_questions": (
        "the case study '{title}' has no questions",
        "tình huống '{title}' chưa có câu hỏi nào",
    ),
    "scenario_no_questions.hint": (
        "add questions '? …' below its description, or remove it",
        "hãy thêm câu hỏi '? …' bên dưới phần mô tả, hoặc xóa tình huống",
    ),
    # -- questions -----------------------------------------------------------------
    "empty_prompt": ("the question has no text", "câu hỏi chưa có nội dung"),
    "empty_prompt.hint": (
        "write the question after '? '",
        "hãy viết nội dung câu hỏi sau dấu '? '",
    ),
    "no_answers": ("the question has no answers", "câu hỏi chưa có đáp án"),
    "no_answers.hint": (
        "add options ('- [ ] …', '- [x] …'), accepted answers ('= …') or 'answer: đúng'",
        "hãy thêm các phương án ('- [ ] …', '- [x] …'), đáp án ('= …') hoặc 'answer: đúng'",
    ),
    "duplicate_id": (
        "id '{id}' is used twice: lines {first} and {second}",
        "id '{id}' bị dùng hai lần: dòng {first} và dòng {second}",
    ),
    "duplicate_id.hint": (
        "give each question its own 'id:'",
        "hãy đặt cho mỗi câu hỏi một 'id:' riêng",
    ),
    "no_correct": ("no correct option", "thiếu đáp án đúng"),
    "no_correct.hint": (
        "tick the right option: '- [x] …' (or '- (x) …')",
        "hãy đánh dấu [x] trước phương án đúng (hoặc (x))",
    ),
    "two_correct_single": (
        "{count} correct options in a single-choice question",
        "câu hỏi một đáp án nhưng có {count} phương án được đánh dấu đúng",
    ),
    "two_correct_single.hint": (
        "tick only one; for several right options use '[ ]' boxes without 'type: single'",
        "chỉ đánh dấu một phương án; nếu có nhiều đáp án đúng, hãy dùng ô '[ ]' "
        "và bỏ 'type: single'",
    ),
    "too_few_options": (
        "a choice question needs at least 2 options; this one has {count}",
        "câu hỏi trắc nghiệm cần ít nhất 2 phương án; câu này có {count}",
    ),
    "too_few_options.hint": ("add options '- [ ] …'", "hãy thêm phương án '- [ ] …'"),
    "option_empty": ("option with empty text", "phương án chưa có nội dung"),
    "option_empty.hint": (
        "write the option after the box: '- [ ] text'",
        "hãy viết nội dung sau ô đánh dấu: '- [ ] nội dung'",
    ),
    "option_duplicate": (
        "option '{text}' is already written on line {line}",
        "phương án '{text}' bị trùng với dòng {line}",
    ),
    "option_duplicate.hint": (
        "remove one of the two or reword it",
        "hãy xóa hoặc sửa lại một trong hai",
    ),
    "option_no_box": ("option '{text}' has no box", "phương án '{text}' thiếu ô đánh dấu"),
    "option_no_box.hint": (
        "write '- [ ] {text}', or '- [x] {text}' if it is right",
        "hãy viết '- [ ] {text}', hoặc '- [x] {text}' nếu đây là đáp án đúng",
    ),
    "mixed_boxes": (
        "'[ ]' boxes and '( )' round brackets are mixed in one question",
        "câu hỏi dùng lẫn ô vuông '[ ]' và ngoặc tròn '( )'",
    ),
    "mixed_boxes.hint": (
        "use '( )' throughout for single choice, or '[ ]' throughout",
        "hãy dùng toàn '( )' (câu một đáp án) hoặc toàn '[ ]'",
    ),
    "radio_multiple": (
        "'type: multiple' cannot use round brackets '( )', which mean single choice",
        "'type: multiple' không dùng được ngoặc tròn '( )' (ngoặc tròn chỉ dành cho câu "
        "một đáp án)",
    ),
    "radio_multiple.hint": (
        "write the options with boxes: '- [ ]' and '- [x]'",
        "hãy viết các phương án bằng ô vuông: '- [ ]' và '- [x]'",
    ),
    "mixed_styles": (
        "this question mixes {first} (line {line}) with {second}",
        "câu hỏi dùng lẫn {first} (dòng {line}) và {second}",
    ),
    "mixed_styles.hint": (
        "a question has one kind of answer: keep one, or split it into two questions",
        "mỗi câu hỏi chỉ có một kiểu đáp án: hãy giữ một kiểu, hoặc tách thành hai câu hỏi",
    ),
    "style.choice": ("options '- [ ]'", "phương án '- [ ]'"),
    "style.eq": ("accepted answers '= …'", "đáp án '= …'"),
    "style.pair": ("pairs '… -> …'", "cặp nối '… -> …'"),
    "style.numbered": ("numbered items", "mục đánh số"),
    "style.answer": ("'answer:'", "'answer:'"),
    "style.gaps": ("gaps '[[…]]'", "ô trống '[[…]]'"),
    "gaps_mixed": (
        "the gaps '[[…]]' in the question text (line {line}) cannot be combined with {second}",
        "ô trống '[[…]]' trong câu hỏi (dòng {line}) không dùng chung được với {second}",
    ),
    "gaps_mixed.hint": (
        "keep the gaps, or remove the '[[ ]]' brackets and keep the answer lines",
        "hãy giữ các ô trống, hoặc bỏ dấu '[[ ]]' và giữ các dòng đáp án",
    ),
    "gap_empty": ("empty gap '[[ ]]'", "ô trống '[[ ]]' chưa có đáp án"),
    "gap_empty.hint": (
        "write the accepted answer inside, alternatives separated by '|': [[16|mười sáu]]",
        "hãy ghi đáp án bên trong, các cách viết khác cách nhau bởi '|': [[16|mười sáu]]",
    ),
    "gap_unclosed": (
        "gap '[[' is not closed on this line",
        "ô trống '[[' chưa được đóng trên dòng này",
    ),
    "gap_unclosed.hint": (
        "close it with ']]' on the same line: [[16]]",
        "hãy đóng bằng ']]' trên cùng dòng: [[16]]",
    ),
    "numbered_without_ordering": (
        "numbered item in a question that is not an ordering question",
        "mục đánh số nằm trong câu hỏi không phải dạng sắp xếp",
    ),
    "numbered_without_ordering.hint": (
        "add a line 'type: ordering' right after the question text",
        "hãy thêm dòng 'type: ordering' ngay sau nội dung câu hỏi",
    ),
    # -- settings ------------------------------------------------------------------
    "setting_unknown": ("unknown setting '{key}:'", "thiết lập '{key}:' không tồn tại"),
    "setting_unknown.hint": (
        "the settings are: {known}",
        "các thiết lập hợp lệ: {known}",
    ),
    "setting_twice": (
        "'{key}:' is given twice in this question (first on line {line})",
        "'{key}:' được ghi hai lần trong câu hỏi (lần đầu ở dòng {line})",
    ),
    "setting_twice.hint": ("keep one of the two lines", "hãy giữ một trong hai dòng"),
    "setting_empty": ("'{key}:' has no value", "'{key}:' chưa có giá trị"),
    "setting_empty.hint": (
        "write the value after the colon, or remove the line",
        "hãy ghi giá trị sau dấu hai chấm, hoặc xóa dòng này",
    ),
    "value_invalid": (
        "'{key}: {value}' is not valid",
        "'{key}: {value}' không hợp lệ",
    ),
    "value_invalid.hint": (
        "write one of: {known}",
        "chỉ nhận một trong các giá trị: {known}",
    ),
    "question_id_invalid": (
        "question id '{value}' is not valid",
        "id câu hỏi '{value}' không hợp lệ",
    ),
    "points_invalid": (
        "points must be a positive number, not '{value}'",
        "điểm phải là một số dương, không phải '{value}'",
    ),
    "points_invalid.hint": (
        "e.g. 'points: 2' or 'points: 0,5'",
        "ví dụ 'points: 2' hoặc 'points: 0,5'",
    ),
    "type_unknown": ("unknown question type '{value}'", "không có dạng câu hỏi '{value}'"),
    "type_unknown.hint": (
        "write one of: {known}",
        "hãy dùng một trong các dạng: {known}",
    ),
    "type_conflict": (
        "'type: {type}' does not fit the answers, which are {style}",
        "'type: {type}' không khớp với đáp án (đang viết dạng {style})",
    ),
    "type_conflict.hint": (
        "remove the 'type:' line or rewrite the answers",
        "hãy xóa dòng 'type:' hoặc viết lại đáp án",
    ),
    "setting_not_applicable": (
        "'{key}:' only applies to {where}",
        "'{key}:' chỉ dùng cho {where}",
    ),
    "setting_not_applicable.hint": (
        "remove the line, or change the question",
        "hãy xóa dòng này, hoặc sửa lại câu hỏi",
    ),
    "where.multiple": ("multiple-choice questions", "câu hỏi nhiều đáp án"),
    "where.text": (
        "short-answer and fill-in-the-blank questions",
        "câu trả lời ngắn và câu điền vào chỗ trống",
    ),
    "where.shuffle": (
        "choice and matching questions",
        "câu hỏi trắc nghiệm và câu hỏi nối",
    ),
    "where.truefalse": (
        "true/false questions (with 'answer:')",
        "câu hỏi đúng/sai (có dòng 'answer:')",
    ),
    "answer_invalid": (
        "'answer: {value}' must be đúng/sai or true/false",
        "'answer: {value}' chỉ nhận đúng/sai hoặc true/false",
    ),
    "answer_invalid.hint": ("e.g. 'answer: đúng'", "ví dụ 'answer: đúng'"),
    # -- answers -------------------------------------------------------------------
    "feedback_orphan": (
        "a feedback line '>' must come right below an option or accepted answer",
        "dòng phản hồi '>' phải nằm ngay dưới một phương án hoặc đáp án",
    ),
    "feedback_orphan.hint": (
        "for feedback on the whole question write 'feedback: …'",
        "phản hồi chung cho cả câu hỏi hãy viết 'feedback: …'",
    ),
    "credit_invalid": ("credit '{value}' cannot be read", "không đọc được mức điểm '{value}'"),
    "credit_invalid.hint": (
        "write a percentage from -100% to 100% right after the box or '=', e.g. {{50%}}",
        "hãy ghi phần trăm từ -100% đến 100% ngay sau ô đánh dấu hoặc dấu '=', ví dụ {{50%}}",
    ),
    "credit_answer_range": (
        "the credit of an accepted answer must be from 0% to 100%, not {value}",
        "mức điểm của đáp án phải từ 0% đến 100%, không phải {value}",
    ),
    "credit_answer_range.hint": ("e.g. '= {{50%}} …'", "ví dụ '= {{50%}} …'"),
    "credit_single_correct": (
        "the right option of a single-choice question always earns 100%",
        "phương án đúng của câu một đáp án luôn được 100% số điểm",
    ),
    "credit_single_correct.hint": (
        "remove the credit from the ticked option; give credits to the other options only",
        "hãy bỏ mức điểm ở phương án đã đánh dấu; chỉ ghi mức điểm cho các phương án khác",
    ),
    "credit_sign": (
        "a ticked option needs a positive credit, an unticked one zero or negative",
        "phương án đánh dấu [x] phải có mức điểm dương, phương án không đánh dấu thì "
        "mức điểm bằng 0 hoặc âm",
    ),
    "credit_sign.hint": (
        "tick the option, or change the sign of its credit",
        "hãy đánh dấu phương án, hoặc đổi dấu mức điểm",
    ),
    "credit_sum": (
        "the credits of the ticked options add up to {total}%, so full marks are impossible",
        "tổng mức điểm của các phương án đúng chỉ là {total}%, nên không thể đạt điểm tối đa",
    ),
    "credit_sum.hint": (
        "change the credits so that they add up to 100%",
        "hãy sửa các mức điểm để tổng bằng 100%",
    ),
    "answer_empty": ("empty accepted answer", "đáp án '=' bị để trống"),
    "answer_empty.hint": (
        "write the answer after '=': '= Sở Y tế'",
        "hãy ghi đáp án sau dấu '=': '= Sở Y tế'",
    ),
    "numeric_invalid": ("'{value}' is not a number", "'{value}' không phải là số"),
    "numeric_invalid.hint": (
        "write a number (3,5 or 3.5), a tolerance (18,2 ± 0,5) or a range (30..60)",
        "hãy ghi một số (3,5 hoặc 3.5), số kèm sai số (18,2 ± 0,5) hoặc khoảng (30..60)",
    ),
    "numeric_tolerance_negative": (
        "the tolerance in '{value}' is negative",
        "sai số trong '{value}' là số âm",
    ),
    "numeric_tolerance_negative.hint": (
        "write the tolerance without a sign: 18,2 ± 0,5",
        "hãy ghi sai số không kèm dấu: 18,2 ± 0,5",
    ),
    "numeric_range_reversed": (
        "the range '{value}' goes from high to low",
        "khoảng '{value}' bị ngược (số đầu lớn hơn số sau)",
    ),
    "numeric_range_reversed.hint": (
        "write the smaller number first: 30..60",
        "hãy ghi số nhỏ trước: 30..60",
    ),
    "numeric_form_in_short": (
        "'{value}' is a tolerance or a range, but other accepted answers are text",
        "'{value}' là số kèm sai số hoặc khoảng, nhưng các đáp án khác lại là chữ",
    ),
    "numeric_form_in_short.hint": (
        "a numeric question has only numbers; otherwise write this answer as plain text",
        "câu hỏi dạng số chỉ gồm các đáp án là số; nếu không, hãy viết đáp án này bằng chữ",
    ),
    "pair_incomplete": (
        "pair '{text}' has no right side",
        "cặp nối '{text}' thiếu vế phải",
    ),
    "pair_incomplete.hint": (
        "write 'left -> right'; '- -> right' adds an extra wrong choice",
        "hãy viết 'vế trái -> vế phải'; '- -> vế phải' là một lựa chọn gây nhiễu",
    ),
    "matching_few": (
        "a matching question needs at least 2 pairs; this one has {count}",
        "câu hỏi nối cần ít nhất 2 cặp; câu này có {count}",
    ),
    "matching_few.hint": (
        "add pairs '- left -> right'",
        "hãy thêm cặp '- vế trái -> vế phải'",
    ),
    "ordering_few": (
        "an ordering question needs at least 2 items; this one has {count}",
        "câu hỏi sắp xếp cần ít nhất 2 mục; câu này có {count}",
    ),
    "ordering_few.hint": (
        "list the items '1. …', '2. …' in the right order, below the line 'type: ordering'",
        "hãy liệt kê các mục '1. …', '2. …' theo đúng thứ tự, bên dưới dòng 'type: ordering'",
    ),
    "item_empty": ("ordering item with empty text", "mục sắp xếp chưa có nội dung"),
    "item_empty.hint": (
        "write the item after its number: '1. …'",
        "hãy viết nội dung sau số thứ tự: '1. …'",
    ),
}


def msg(key: str, language: str, /, **fields: object) -> str:
    """The message ``key`` in ``language`` ("vi" or "en"), with ``fields`` filled in."""
    english, vietnamese = MESSAGES[key]
    template = vietnamese if language == "vi" else english
    return template.format(**fields)


def suggestion(word: str, choices: Iterable[str], language: str) -> str:
    """A "did you mean 'x'?" in ``language``, or "" when nothing is close."""
    english = did_you_mean(word, choices)
    prefix, suffix = "did you mean '", "'?"
    if not english.startswith(prefix) or not english.endswith(suffix):
        return english
    return msg("did_you_mean", language, name=english[len(prefix) : -len(suffix)])
