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
        "verify_title": "Kiểm tra chứng nhận",
        "verify_text": "Quét mã QR trên giấy chứng nhận để kiểm tra. Chức năng này sẽ có "
        "cùng với chứng nhận.",
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
        "verify_title": "Verify a certificate",
        "verify_text": "Scan the QR code on a certificate to check it. This arrives with "
        "certificates.",
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


def strings(language: str) -> dict[str, str]:
    """The catalog of ``language`` (Vietnamese for anything unknown)."""
    return CATALOGS.get(language, CATALOGS["vi"])
