"""UI strings of the site, Vietnamese (default) and English.

Course content is written in one language by its authors; everything the
site itself says comes from here, so a page is fully Vietnamese or fully
English.  The browser gets both catalogs (``lms-i18n``) to switch without a
reload.
"""

from __future__ import annotations

CATALOGS: dict[str, dict[str, str]] = {
    "vi": {
        "skip": "Bỏ qua, đến nội dung chính",
        "home": "Danh mục khóa học",
        "progress": "Tiến độ của tôi",
        "verify": "Kiểm tra chứng nhận",
        "search": "Tìm kiếm",
        "search_label": "Tìm khóa học, bài học",
        "search_hint": "Gõ có dấu hoặc không dấu, ví dụ: tre em",
        "courses_for": "Dành cho",
        "everyone": "Mọi cán bộ",
        "minutes": "{n} phút",
        "lessons": "{n} bài",
        "language": "Ngôn ngữ",
        "switch_language": "English",
        "start": "Bắt đầu học",
        "contents": "Nội dung bài",
        "previous": "Bài trước",
        "next": "Bài tiếp",
        "course_lessons": "Các bài học",
        "optional": "không bắt buộc",
        "prerequisites": "Cần học trước",
        "certificate": "Có chứng nhận, hiệu lực {n} tháng",
        "certificate_forever": "Có chứng nhận",
        "download": "Tải về để học khi không có mạng",
        "offline_note": "Trang này cần mở qua HTTPS để lưu và học khi không có mạng.",
        "sample": "Nội dung mẫu: tỉnh, xã điều chỉnh cho phù hợp thực tế địa phương.",
        "progress_title": "Tiến độ học tập trên thiết bị này",
        "progress_intro": "Tiến độ được lưu trên trình duyệt của thiết bị này.",
        "progress_empty": "Chưa có bài học nào được ghi nhận trên thiết bị này.",
        "not_found": "Không tìm thấy trang",
        "not_found_text": "Trang bạn tìm không có. Hãy quay lại danh mục khóa học.",
        "offline_title": "Đang không có mạng",
        "offline_text": "Trang này chưa được lưu trên thiết bị. Các khóa học đã tải về "
        "vẫn học được khi không có mạng.",
        "needs_js": "Chức năng này cần bật JavaScript.",
        "footer": "Tập huấn bảo vệ, chăm sóc và giáo dục trẻ em",
        "no_results": "Không tìm thấy kết quả.",
        "sign_in": "Đăng nhập",
        "signin_title": "Đăng nhập để học và làm bài",
        "signin_intro": "Đăng nhập để kết quả học tập được ghi nhận cho bạn.",
        "first_time": "Lần đầu đăng nhập (có mã mời)",
        "first_time_help": "Nhập mã cán bộ, mã mời do người phụ trách gửi, và chọn mật khẩu "
        "của bạn (ít nhất 10 ký tự).",
        "staff_code": "Mã cán bộ",
        "invite_code": "Mã mời",
        "password": "Mật khẩu",
        "new_password": "Mật khẩu mới",
        "repeat_password": "Nhập lại mật khẩu",
        "set_password": "Đặt mật khẩu và đăng nhập",
    },
    "en": {
        "skip": "Skip to main content",
        "home": "Course catalogue",
        "progress": "My progress",
        "verify": "Verify a certificate",
        "search": "Search",
        "search_label": "Search courses and lessons",
        "search_hint": "With or without accents, e.g. tre em",
        "courses_for": "For",
        "everyone": "All staff",
        "minutes": "{n} min",
        "lessons": "{n} lessons",
        "language": "Language",
        "switch_language": "Tiếng Việt",
        "start": "Start",
        "contents": "On this page",
        "previous": "Previous lesson",
        "next": "Next lesson",
        "course_lessons": "Lessons",
        "optional": "optional",
        "prerequisites": "Complete first",
        "certificate": "Certificate, valid {n} months",
        "certificate_forever": "Certificate",
        "download": "Download to study offline",
        "offline_note": "Open this site over HTTPS to save it for offline study.",
        "sample": "Sample content: provinces and communes adapt it to local conditions.",
        "progress_title": "Progress on this device",
        "progress_intro": "Progress is stored in this device's browser.",
        "progress_empty": "No lesson has been recorded on this device yet.",
        "not_found": "Page not found",
        "not_found_text": "This page does not exist. Go back to the course catalogue.",
        "offline_title": "You are offline",
        "offline_text": "This page has not been saved on this device. Downloaded courses "
        "can still be studied offline.",
        "needs_js": "This needs JavaScript.",
        "footer": "Training in child protection, care and education",
        "no_results": "No results.",
        "sign_in": "Sign in",
        "signin_title": "Sign in to study and take quizzes",
        "signin_intro": "Sign in so that your progress is recorded for you.",
        "first_time": "First sign-in (with an invite code)",
        "first_time_help": "Enter your staff code, the invite code your organiser gave you, "
        "and choose your password (at least 10 characters).",
        "staff_code": "Staff code",
        "invite_code": "Invite code",
        "password": "Password",
        "new_password": "New password",
        "repeat_password": "Repeat the password",
        "set_password": "Set password and sign in",
    },
}


VERIFY_CATALOGS: dict[str, dict[str, str]] = {
    "vi": {
        "verify_title": "Kiểm tra giấy chứng nhận",
        "verify_intro": "Quét mã QR trên giấy chứng nhận bằng máy ảnh của điện thoại. Trang này "
        "kiểm tra chữ ký số ngay trên máy, không cần mạng, và không gửi thông tin của ai đi đâu.",
        "verify_paste": "Hoặc dán mã, hay đường liên kết in dưới mã QR",
        "verify_paste_help": "Đường liên kết có dạng …/verify/#… Dấu cách và xuống dòng "
        "được bỏ qua.",
        "verify_check": "Kiểm tra",
        "verify_result": "Kết quả kiểm tra",
        "v_checking": "Đang kiểm tra…",
        "v_valid": "HỢP LỆ",
        "v_valid_text": "Chữ ký số đúng: giấy chứng nhận này do {issuer} cấp và còn hiệu lực. "
        "Hãy so từng dòng dưới đây với giấy.",
        "v_expired": "HẾT HẠN",
        "v_expired_text": "Chữ ký số đúng, nhưng giấy chứng nhận này chỉ có giá trị đến hết ngày "
        "{d}.",
        "v_revoked": "ĐÃ BỊ THU HỒI",
        "v_revoked_text": "Chữ ký số đúng, nhưng giấy chứng nhận này đã bị thu hồi ngày {d} "
        "và không còn giá trị.",
        "v_forged": "GIẢ MẠO: CHỮ KÝ KHÔNG ĐÚNG",
        "v_forged_text": "Mã này không do đơn vị cấp ký, hoặc đã bị sửa sau khi ký. "
        "Đừng tin thông tin trên giấy.",
        "v_unknown_key": "Mã được ký bằng khóa {kid}, không có trong danh sách khóa của trang này.",
        "v_unreadable": "KHÔNG ĐỌC ĐƯỢC",
        "v_unreadable_text": "Đây không phải là mã giấy chứng nhận, hoặc mã bị thiếu hay thừa ký "
        "tự. Hãy quét lại mã QR, hoặc dán lại cả đường liên kết.",
        "v_no_keys": "Trang này chưa công bố khóa kiểm tra, nên chưa kiểm tra được giấy chứng "
        "nhận ở đây.",
        "v_keys_missing": "Chưa tải được danh sách khóa kiểm tra. Hãy mở trang này một lần khi "
        "có mạng; sau đó trang kiểm tra được cả khi không có mạng.",
        "v_no_crypto": "Trình duyệt này không tự kiểm tra được chữ ký số (cần trình duyệt mới "
        "hơn, và trang phải mở qua HTTPS).",
        "v_server": "Kiểm tra qua máy chủ",
        "v_server_note": "Nút này gửi mã giấy chứng nhận đến máy chủ để kiểm tra.",
        "v_server_said": "Kết quả do máy chủ trả lời.",
        "v_server_failed": "Không liên lạc được với máy chủ. Hãy thử lại khi có mạng.",
        "v_rev_unknown": "Chưa kiểm tra được danh sách thu hồi (chưa tải được lần nào khi có "
        "mạng): giấy có thể đã bị thu hồi.",
        "f_name": "Họ và tên",
        "f_unit": "Đơn vị",
        "f_position": "Chức vụ",
        "f_course": "Khóa học",
        "f_version": "Phiên bản",
        "f_completed": "Ngày hoàn thành",
        "f_score": "Điểm",
        "f_issued": "Ngày cấp",
        "f_valid_until": "Có giá trị đến",
        "f_issuer": "Đơn vị cấp",
        "f_serial": "Số hiệu",
        "f_prev": "Cấp lại cho",
        "f_kid": "Khóa ký",
        "f_revocation": "Danh sách thu hồi",
        "none": "(không có)",
        "no_expiry": "Không thời hạn",
        "no_score": "Không chấm điểm",
        "rev_age": "cập nhật ngày {d} ({n} ngày trước)",
        "rev_today": "cập nhật ngày {d} (hôm nay)",
        "rev_yesterday": "cập nhật ngày {d} (hôm qua)",
        "rev_none": "chưa kiểm tra được",
    },
    "en": {
        "verify_title": "Verify a certificate",
        "verify_intro": "Scan the QR code on a certificate with your phone's camera. This page "
        "checks the digital signature on the device itself, with no network, and sends nobody's "
        "details anywhere.",
        "verify_paste": "Or paste the code, or the link printed under the QR code",
        "verify_paste_help": "The link looks like …/verify/#… Spaces and line breaks are ignored.",
        "verify_check": "Check",
        "verify_result": "Result",
        "v_checking": "Checking…",
        "v_valid": "VALID",
        "v_valid_text": "The digital signature is genuine: this certificate was issued by "
        "{issuer} and is in force. Compare each line below with the paper.",
        "v_expired": "EXPIRED",
        "v_expired_text": "The digital signature is genuine, but this certificate was valid only "
        "until {d}.",
        "v_revoked": "REVOKED",
        "v_revoked_text": "The digital signature is genuine, but this certificate was revoked on "
        "{d} and is no longer valid.",
        "v_forged": "FORGED: THE SIGNATURE DOES NOT MATCH",
        "v_forged_text": "This code was not signed by the issuer, or it was changed after "
        "signing. Do not trust what the paper says.",
        "v_unknown_key": "The code was signed with the key {kid}, which is not in this site's "
        "key list.",
        "v_unreadable": "UNREADABLE",
        "v_unreadable_text": "This is not a certificate code, or characters are missing or extra. "
        "Scan the QR code again, or paste the whole link again.",
        "v_no_keys": "This site has not published its verification keys, so certificates "
        "cannot be checked here yet.",
        "v_keys_missing": "The list of verification keys could not be loaded. Open this page "
        "once while online; after that it checks certificates offline too.",
        "v_no_crypto": "This browser cannot check the digital signature itself (it needs a "
        "newer browser, and the page opened over HTTPS).",
        "v_server": "Check with the server",
        "v_server_note": "This button sends the certificate code to the server to check it.",
        "v_server_said": "The server's answer.",
        "v_server_failed": "The server could not be reached. Try again when online.",
        "v_rev_unknown": "The revocation list could not be checked (it was never loaded while "
        "online): the certificate may have been revoked.",
        "f_name": "Full name",
        "f_unit": "Unit",
        "f_position": "Position",
        "f_course": "Course",
        "f_version": "Version",
        "f_completed": "Completed on",
        "f_score": "Score",
        "f_issued": "Issued on",
        "f_valid_until": "Valid until",
        "f_issuer": "Issued by",
        "f_serial": "Serial number",
        "f_prev": "Renews",
        "f_kid": "Signing key",
        "f_revocation": "Revocation list",
        "none": "(none)",
        "no_expiry": "No expiry",
        "no_score": "Not scored",
        "rev_age": "updated {d} ({n} days ago)",
        "rev_today": "updated {d} (today)",
        "rev_yesterday": "updated {d} (yesterday)",
        "rev_none": "not checked",
    },
}
"""Strings of the verify page only (``verify.html``, ``assets/verify.js``): embedded in
that page's ``lms-i18n`` block, not in every page's."""


def strings(language: str) -> dict[str, str]:
    """The catalog of ``language`` (Vietnamese for anything unknown)."""
    return CATALOGS.get(language, CATALOGS["vi"])


def page_catalogs(page: str) -> dict[str, dict[str, str]]:
    """Both languages' strings a page needs: the site's, plus its own for the verify page."""
    if page != "verify":
        return CATALOGS
    return {lang: {**CATALOGS[lang], **VERIFY_CATALOGS[lang]} for lang in CATALOGS}
