"""The console's words, Bahasa Indonesia first and English second. `?lang=id|en` switches and
is remembered in a cookie; without either, Indonesian. A service's refusal is said in the
console's words for its code (`refusals.py`, held here as `refusal.<code>`), with the service's
own words (English, with the particulars) beneath."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from .refusals import REFUSALS

LANGUAGES = ("id", "en")
DEFAULT_LANGUAGE = "id"
LANG_COOKIE = "jembatan_lang"

# Each key: (Bahasa Indonesia, English).
WORDS: dict[str, tuple[str, str]] = {
    "console": ("Konsol operator Jembatan", "Jembatan operators' console"),
    "skip": ("Langsung ke isi", "Skip to content"),
    "switch_language": ("English", "Bahasa Indonesia"),
    "main_menu": ("Menu utama", "Main menu"),
    "home": ("Beranda", "Home"),
    "sign_in": ("Masuk", "Sign in"),
    "sign_out": ("Keluar", "Sign out"),
    "sign_in_title": ("Masuk ke konsol {agency}", "Sign in to the {agency} console"),
    "sign_in_help": (
        "Gunakan nama pengguna dan kata sandi yang diberikan administrator lembaga Anda.",
        "Use the login and password your agency's administrator gave you.",
    ),
    "login": ("Nama pengguna", "Login"),
    "password": ("Kata sandi", "Password"),
    "sign_in_refused": (
        "Nama pengguna atau kata sandi salah.",
        "The login or the password is wrong.",
    ),
    "signed_in_as": ("Masuk sebagai {name} ({agency})", "Signed in as {name} ({agency})"),
    "welcome": ("Selamat datang, {name}", "Welcome, {name}"),
    "your_work": ("Pekerjaan Anda hari ini", "Your work today"),
    "no_roles": (
        "Akun Anda belum punya peran. Minta administrator menambahkannya.",
        "Your account has no role yet. Ask your administrator to add one.",
    ),
    "screen.registration": ("Meja pendaftaran", "Registration desk"),
    "screen.registration.about": (
        "Daftarkan calon satu per satu atau dari berkas CSV.",
        "Register candidates one by one or from a CSV file.",
    ),
    "screen.candidates": ("Calon dan perjalanannya", "Candidates and their journeys"),
    "screen.candidates.about": (
        "Semua tentang satu calon di keempat layanan.",
        "Everything about one candidate across the four services.",
    ),
    "screen.training": ("Pusat pelatihan", "Training centre"),
    "screen.training.about": (
        "Kelas, anggota, nilai harian, dan hasil ujian.",
        "Cohorts, members, daily scores and test results.",
    ),
    "screen.placement": ("Kantor penempatan", "Placement office"),
    "screen.placement.about": (
        "Lowongan kerja, calon yang cocok, dan jalur tiap penempatan.",
        "Job orders, matching candidates and each placement's path.",
    ),
    "screen.loans": ("Pinjaman", "Loans"),
    "screen.loans.about": (
        "Rincian pinjaman, pencatatan transfer, tunggakan.",
        "Loan statements, recording transfers, arrears.",
    ),
    # refusals
    "refused_by": ("Ditolak oleh layanan {service}", "Refused by the {service} service"),
    "rule": ("Aturan", "Rule"),
    "service_words": ("Keterangan layanan {service}", "The {service} service's words"),
    "unreachable": ("Layanan {service} tidak dapat dihubungi", "{service} cannot be reached"),
    "role_missing": (
        "Layar ini untuk peran {role}; akun Anda tidak memilikinya.",
        "This screen is for the role {role}; your account does not have it.",
    ),
    "asking_again": (
        "Halaman ini bertanya lagi setiap beberapa detik dan diperbarui sendiri.",
        "This page asks again every few seconds and updates itself.",
    ),
    "back_home": ("Kembali ke beranda", "Back to the home page"),
    # registration
    "register_candidate": ("Daftarkan calon", "Register a candidate"),
    "nik": ("NIK (16 angka)", "NIK (16 digits)"),
    "full_name": ("Nama lengkap", "Full name"),
    "birth_date": ("Tanggal lahir", "Birth date"),
    "sex": ("Jenis kelamin", "Sex"),
    "sex.M": ("Laki-laki", "Male"),
    "sex.F": ("Perempuan", "Female"),
    "education": ("Pendidikan", "Education"),
    "track": ("Program", "Track"),
    "preferred_sector": ("Bidang pilihan", "Preferred sector"),
    "phone": ("Nomor telepon (tidak wajib)", "Phone (optional)"),
    "region_code": (
        "Kode wilayah asal (2 atau 4 angka, tidak wajib)",
        "Home region code (2 or 4 digits, optional)",
    ),
    "candidate_agency": ("Lembaga calon", "Candidate's agency"),
    "submit_register": ("Daftarkan", "Register"),
    "registered": ("Calon terdaftar", "Candidate registered"),
    "registered_note": (
        "NIK tersimpan tersamar: {nik}. Pelatihan menerima calon ini melalui event; halaman"
        " perjalanan menunggu itu untuk Anda.",
        "The NIK is kept masked: {nik}. Training takes the candidate on through an event; the"
        " journey page waits for it for you.",
    ),
    "open_journey": ("Buka halaman perjalanan", "Open the journey page"),
    "eligibility": ("Kelayakan", "Eligibility"),
    "eligibility_note": (
        "Setiap aturan yang diperiksa, dengan apa yang dipersyaratkan dan apa yang ditemukan.",
        "Each rule checked, with what it requires and what was found.",
    ),
    "requirement": ("Syarat", "Requirement"),
    "finding": ("Temuan", "Finding"),
    "passed": ("Lulus", "Passed"),
    "failed": ("Tidak lulus", "Failed"),
    "warnings": ("Peringatan", "Warnings"),
    "refused_registration": ("Pendaftaran ditolak", "Registration refused"),
    "nik_check": ("Pemeriksaan NIK", "NIK check"),
    "nik_check.needs_birth_date": (
        "Isi tanggal lahir: NIK diperiksa terhadap tanggal lahir dan jenis kelamin.",
        "Fill in the birth date: the NIK is checked against the birth date and sex.",
    ),
    "nik_check.unanswered": (
        "Layanan {service} tidak dapat memeriksa sekarang; pemeriksaan dilakukan saat Anda"
        " mendaftarkan.",
        "{service} cannot check now; the checks run when you register.",
    ),
    "nik_check.refused": ("Akan ditolak:", "Would be refused:"),
    "nik_check.reads": ("NIK terbaca:", "The NIK reads:"),
    "nik_check.rest_on_submit": (
        "Aturan lain diperiksa setelah kolom lainnya diisi.",
        "The other rules are checked once the other fields are filled in.",
    ),
    "nik_check.warnings": (
        "NIK tidak cocok dengan yang diisi (peringatan: pendaftaran tetap diterima, periksa KTP):",
        "The NIK disagrees with what was filled in (a warning: the registration is still"
        " accepted; check the KTP):",
    ),
    "nik_check.left": (
        "Apakah NIK sudah terdaftar di lembaga lain diperiksa saat Anda mendaftarkan.",
        "Whether another agency has registered the NIK is checked when you register.",
    ),
    "upload_title": ("Unggah daftar kelas (CSV)", "Upload a class list (CSV)"),
    "upload_help": ("Kolom: {columns}.", "Columns: {columns}."),
    "csv_file": ("Berkas CSV", "CSV file"),
    "submit_upload": ("Unggah", "Upload"),
    "upload_result": (
        "{accepted} baris diterima, {refused} ditolak.",
        "{accepted} rows accepted, {refused} refused.",
    ),
    "upload_replayed": (
        "Berkas ini sudah pernah diunggah: tidak ada yang didaftarkan dua kali.",
        "This file was uploaded before: nobody was registered twice.",
    ),
    "line": ("Baris", "Line"),
    "status": ("Status", "Status"),
    "result": ("Hasil", "Result"),
    "status.accepted": ("diterima", "accepted"),
    "status.refused": ("ditolak", "refused"),
    "refused_rows_file": (
        "Unduh baris yang ditolak untuk diperbaiki dan dikirim lagi",
        "Download the refused rows to fix and send again",
    ),
    # candidates and journeys
    "candidates": ("Calon", "Candidates"),
    "name": ("Nama", "Name"),
    "registered_at": ("Terdaftar", "Registered"),
    "journey_of": ("Perjalanan {name}", "Journey of {name}"),
    "journey": ("Perjalanan", "Journey"),
    "section.registration": ("Pendaftaran", "Registration"),
    "section.training": ("Pelatihan", "Training"),
    "section.placement": ("Penempatan", "Placement"),
    "section.financing": ("Pinjaman", "Loan"),
    "pending": ("Menunggu…", "Waiting…"),
    "pending.training": (
        "Menunggu event pendaftaran sampai di layanan pelatihan. Halaman ini diperbarui sendiri.",
        "Waiting for the registration's event to reach training. This page updates itself.",
    ),
    "pending.withdrawal": (
        "Menunggu event pengunduran diri sampai di layanan pelatihan…",
        "Waiting for the withdrawal's event to reach training…",
    ),
    "pending.placement": (
        "Belum siap ditempatkan: penempatan menerima calon setelah pelatihan mengumumkan"
        " kesiapannya. Halaman ini diperbarui sendiri.",
        "Not ready for placement yet: placement takes the candidate once training announces"
        " readiness. This page updates itself.",
    ),
    "pending.financing": (
        "Pinjaman dibuka saat kontrak ditandatangani (event dari penempatan).",
        "The loan opens when the contract is signed (an event from placement).",
    ),
    "pending.readiness": (
        "Kesiapan sedang dikirim ke penempatan…",
        "Readiness is on its way to placement…",
    ),
    "at": ("pada", "at"),
    "enrolled_at": ("Diterima pelatihan", "Enrolled"),
    "ready": ("Siap ditempatkan", "Ready for placement"),
    "not_ready": ("Belum siap", "Not ready"),
    "missing": ("Yang masih kurang", "What is missing"),
    "met": ("Terpenuhi", "Met"),
    "results": ("Hasil ujian", "Test results"),
    "record_result": ("Catat hasil ujian", "Record a test result"),
    "test": ("Ujian", "Test"),
    "level": ("Tingkat", "Level"),
    "score": ("Nilai", "Score"),
    "issuer": ("Penyelenggara", "Issuer"),
    "taken_on": ("Tanggal ujian", "Taken on"),
    "save": ("Simpan", "Save"),
    "result_recorded": ("Hasil ujian tercatat.", "The test result is recorded."),
    "became_ready": (
        "Calon kini siap ditempatkan; penempatan menerimanya melalui event.",
        "The candidate is now ready for placement; placement takes them on through an event.",
    ),
    "penjurusan": ("Penjurusan (bidang pelatihan)", "Penjurusan (training sector)"),
    "reason": ("Alasan", "Reason"),
    "sector_changed": ("Bidang pelatihan kini {sector}.", "The training sector is now {sector}."),
    "trace": ("Jejak (trace) perjalanan", "The journey's trace"),
    "trace_help": ("Di server: {command}", "On the server: {command}"),
    "placements": ("Penempatan", "Placements"),
    "loan": ("Pinjaman", "Loan"),
    "events": ("Kejadian", "Events"),
    "when": ("Waktu", "When"),
    "what": ("Apa", "What"),
    "service": ("Layanan", "Service"),
    "withdraw": ("Catat pengunduran diri", "Record a withdrawal"),
    "withdrawn_note": (
        "Pengunduran diri tercatat; layanan lain mengetahuinya melalui event.",
        "The withdrawal is recorded; the other services learn of it through an event.",
    ),
    "note": ("Catatan (tidak wajib)", "Note (optional)"),
    "event_trace": ("jejak", "trace"),
    "events.pending": (
        "Daftar ini diperbarui sendiri selama ada bagian yang menunggu event.",
        "This list updates itself while a part of the page waits for an event.",
    ),
    "pending.identity": (
        "Menunggu hasil pemeriksaan identitas nasional sampai di layanan pelatihan…",
        "Waiting for the national identity check's outcome to reach training…",
    ),
    "national_check": ("Pemeriksaan nasional", "National check"),
    "national.cleared": ("tuntas", "cleared"),
    "national.provisional": ("sementara", "provisional"),
    "national.duplicate": ("ditahan: terdaftar dua kali", "held: registered twice"),
    "national.suspended": ("ditangguhkan: terdaftar dua kali", "suspended: registered twice"),
    "national.what_to_do": ("Yang dapat Anda lakukan:", "What you can do:"),
    "national.cleared.means": (
        "Indeks identitas nasional tidak menemukan pendaftaran aktif lain untuk orang ini.",
        "The national identity index holds no other active registration of this person.",
    ),
    "national.cleared.todo": ("Tidak ada.", "Nothing."),
    "national.provisional.means": (
        "Calon didaftarkan saat indeks identitas nasional di Kemnaker tidak dapat ditanya."
        " Calon boleh mengikuti pelatihan, tetapi belum dinyatakan siap ditempatkan sampai"
        " indeks menuntaskannya.",
        "The candidate was registered while Kemnaker's national identity index could not be"
        " asked. They may enrol and train, but are not declared ready for placement until the"
        " index clears them.",
    ),
    "national.provisional.todo": (
        "Tidak perlu apa-apa: layanan pendaftaran mengirimkannya sendiri ke indeks begitu"
        " terhubung, dan bagian ini diperbarui sendiri. Bila tertunda lama, laporkan kepada"
        " administrator (hubungan ke hub Kemnaker).",
        "Nothing: registration sends it to the index by itself as soon as it can, and this"
        " part updates itself. If it stays so for long, tell the administrator (the link to"
        " Kemnaker's hub).",
    ),
    "national.duplicate.means": (
        "Indeks menemukan pendaftaran aktif lain untuk orang yang sama di lembaga lain, yang"
        " lebih akhir. Pendaftaran ini ditahan: tidak dinyatakan siap ditempatkan sampai"
        " salah satunya diselesaikan.",
        "The index found a later active registration of the same person with another"
        " agency. This registration is held: not declared ready for placement until one of"
        " them is resolved.",
    ),
    "national.duplicate.todo": (
        "Bila NIK salah ketik, koreksi NIK di bawah (pemeriksaan diulang). Bila orangnya"
        " memang sama, satu pendaftaran harus diundurkan: yang di lembaga lain, atau yang ini.",
        "If the NIK was mistyped, correct it below (the check runs again). If it is the same"
        " person, one registration must be withdrawn: the other agency's, or this one.",
    ),
    "national.suspended.means": (
        "Indeks menemukan pendaftaran aktif lain untuk orang yang sama di lembaga lain, yang"
        " lebih awal. Pendaftaran yang lebih akhir ini ditangguhkan.",
        "The index found an earlier active registration of the same person with another"
        " agency. This later registration is suspended.",
    ),
    "national.suspended.todo": (
        "Bila NIK salah ketik, koreksi NIK di bawah (pemeriksaan diulang). Bila tidak, catat"
        " pengunduran diri pendaftaran ini, atau minta lembaga lain mengundurkan pendaftarannya.",
        "If the NIK was mistyped, correct it below (the check runs again). If not, record this"
        " registration's withdrawal, or have the other agency withdraw theirs.",
    ),
    "correct": ("Koreksi data calon", "Correct the candidate's data"),
    "correct_help": (
        "Isi hanya yang dikoreksi; yang kosong tidak diubah. Koreksi diperiksa dengan aturan"
        " pendaftaran; NIK yang dikoreksi diperiksa lagi secara nasional.",
        "Fill in only what is corrected; what is left empty stays. A correction is judged by"
        " the registration rules; a corrected NIK is checked nationally again.",
    ),
    "correct_save": ("Simpan koreksi", "Save the correction"),
    "unchanged": ("(tidak diubah)", "(unchanged)"),
    "corrected_note": (
        "Koreksi tercatat; layanan lain mengetahuinya melalui event.",
        "The correction is recorded; the other services learn of it through an event.",
    ),
    "reason.personal": ("pribadi", "personal"),
    "reason.health": ("kesehatan", "health"),
    "reason.family": ("keluarga", "family"),
    "reason.other_work": ("pekerjaan lain", "other work"),
    "reason.not_selected": ("tidak terpilih", "not selected"),
    "reason.other": ("lainnya", "other"),
    # statuses as the services name them
    "candidate.active": ("aktif", "active"),
    "candidate.withdrawn": ("mengundurkan diri", "withdrawn"),
    "candidate.enrolled": ("mengikuti pelatihan", "enrolled"),
    "loan.open": ("dibuka", "open"),
    "loan.repaying": ("dalam cicilan", "repaying"),
    "loan.needs_decision": ("menunggu keputusan", "needs a decision"),
    "loan.paused": ("ditangguhkan", "paused"),
    "loan.settled": ("lunas", "settled"),
    "loan.closed": ("ditutup", "closed"),
    # training
    "cohorts": ("Kelas", "Cohorts"),
    "cohort": ("Kelas", "Cohort"),
    "new_cohort": ("Buka kelas baru", "Open a new cohort"),
    "centre": ("Pusat pelatihan", "Training centre"),
    "mode": ("Cara", "Mode"),
    "mode.offline": ("tatap muka", "in person"),
    "mode.online": ("daring", "online"),
    "capacity": ("Kapasitas", "Capacity"),
    "seats_left": ("Kursi kosong", "Free seats"),
    "members": ("Anggota", "Members"),
    "starts_on": ("Mulai", "Starts"),
    "ends_on": ("Selesai", "Ends"),
    "sector": ("Bidang", "Sector"),
    "open": ("Buka", "Open"),
    "add_member": ("Tambah anggota", "Add a member"),
    "candidate": ("Calon", "Candidate"),
    "add": ("Tambah", "Add"),
    "scores_of_day": ("Nilai harian", "A day's scores"),
    "scores_help": (
        "Isi nilai 0 sampai 100; Tab berpindah ke baris berikutnya. Satu simpan untuk seluruh"
        " kelas. Yang kosong tidak disimpan.",
        "Enter scores 0 to 100; Tab moves to the next row. One save for the whole class."
        " Empty ones are not saved.",
    ),
    "day": ("Tanggal", "Day"),
    "save_scores": ("Simpan nilai kelas", "Save the class's scores"),
    "scores_saved": ("{saved} nilai tersimpan.", "{saved} scores saved."),
    "below_target": ("Di bawah target harian ({target})", "Below the daily target ({target})"),
    "average": ("Rata-rata", "Average"),
    "cohort_opened": ("Kelas dibuka.", "The cohort is open."),
    "member_added": ("Anggota ditambahkan.", "The member is added."),
    "no_members": ("Belum ada anggota.", "No members yet."),
    "none": ("Tidak ada.", "None."),
    # placement
    "job_orders": ("Lowongan kerja", "Job orders"),
    "new_job_order": ("Buka lowongan kerja", "Open a job order"),
    "employer": ("Pemberi kerja", "Employer"),
    "supervising_organisation": ("Lembaga pengawas", "Supervising organisation"),
    "prefecture": ("Prefektur", "Prefecture"),
    "slots": ("Jumlah tempat", "Slots"),
    "remaining": ("Sisa tempat", "Remaining"),
    "monthly_wage_jpy": ("Gaji bulanan (JPY)", "Monthly wage (JPY)"),
    "contract_months": ("Lama kontrak (bulan)", "Contract (months)"),
    "matches": ("Calon yang cocok, berurutan", "Matching candidates, ranked"),
    "explanation": ("Penjelasan", "Explanation"),
    "shortlist": ("Masukkan daftar pendek", "Shortlist"),
    "excluded": ("Tidak diikutkan", "Left out"),
    "path": ("Jalur penempatan", "The placement's path"),
    "next_step": ("Langkah berikutnya", "Next step"),
    "path_ended": ("Jalur ini sudah selesai.", "This path has ended."),
    "step.shortlisted": ("Daftar pendek", "Shortlisted"),
    "step.interviewed": ("Lulus wawancara", "Interview passed"),
    "step.interview_failed": ("Tidak lulus wawancara", "Interview failed"),
    "step.offered": ("Tawaran kerja", "Offer"),
    "step.placed": ("Kontrak ditandatangani", "Contract signed"),
    "step.coe_issued": ("CoE terbit", "CoE issued"),
    "step.visa_issued": ("Visa terbit", "Visa issued"),
    "step.departed": ("Berangkat", "Departed"),
    "step.returned_early": ("Pulang lebih awal", "Returned early"),
    "step.withdrawn": ("Mengundurkan diri", "Withdrawn"),
    "do.interview_pass": ("Catat: lulus wawancara", "Record: interview passed"),
    "do.interview_fail": ("Catat: tidak lulus wawancara", "Record: interview failed"),
    "do.offer": ("Catat tawaran kerja", "Record the offer"),
    "do.contract": ("Catat kontrak ditandatangani", "Record the signed contract"),
    "do.certificate-of-eligibility": ("Catat CoE terbit", "Record the CoE issued"),
    "do.visa": ("Catat visa terbit", "Record the visa issued"),
    "do.departure": ("Catat keberangkatan", "Record the departure"),
    "on_date": ("Tanggal", "Date"),
    "departure_date": ("Tanggal berangkat", "Departure date"),
    "step_recorded": ("Langkah tercatat.", "The step is recorded."),
    "job_order_opened": ("Lowongan dibuka.", "The job order is open."),
    # loans
    "loans": ("Pinjaman", "Loans"),
    "arrears": ("Tunggakan", "Arrears"),
    "bucket": ("Hari lewat jatuh tempo", "Days past due"),
    "all": ("Semua", "All"),
    "filter": ("Saring", "Filter"),
    "balance": ("Sisa pinjaman", "Balance"),
    "owed": ("Terutang", "Owed"),
    "paid": ("Sudah dibayar", "Paid"),
    "principal": ("Pokok", "Principal"),
    "departure": ("Keberangkatan", "Departure"),
    "schedule": ("Jadwal cicilan", "Repayment schedule"),
    "due": ("Jatuh tempo", "Due"),
    "amount": ("Jumlah (Rp)", "Amount (IDR)"),
    "number": ("No.", "No."),
    "record_transfer": ("Catat transfer", "Record a transfer"),
    "reference": ("Referensi transfer", "Transfer reference"),
    "paid_on": ("Tanggal transfer", "Paid on"),
    "check_transfer": ("Periksa dulu", "Check first"),
    "confirm_transfer": ("Konfirmasi transfer", "Confirm the transfer"),
    "confirm_note": (
        "Sisa pinjaman sekarang {before}; setelah transfer {amount} menjadi {after}. Belum"
        " disimpan.",
        "The balance now is {before}; after the transfer of {amount} it becomes {after}. Not"
        " saved yet.",
    ),
    "confirm_save": ("Ya, simpan transfer", "Yes, save the transfer"),
    "cancel": ("Batal", "Cancel"),
    "transfer_saved": (
        "Transfer tersimpan. Sisa pinjaman kini {balance}.",
        "The transfer is saved. The balance is now {balance}.",
    ),
    "transfer_repeat": (
        "Transfer dengan referensi ini sudah tercatat sebelumnya; tidak dicatat dua kali.",
        "A transfer with this reference was recorded before; it is not recorded twice.",
    ),
    "statement_link": ("Tautan rincian untuk peserta", "The participant's statement link"),
    "statement_link_help": (
        "Berikan tautan ini kepada peserta: hanya membuka rincian pinjamannya sendiri, berlaku"
        " sampai {until}.",
        "Hand this link to the participant: it opens their own loan's statement only, until"
        " {until}.",
    ),
    "restructure": ("Restrukturisasi", "Restructure"),
    "first_due_date": ("Jatuh tempo pertama", "First due date"),
    "instalments": ("Jumlah cicilan", "Instalments"),
    "restructured": ("Jadwal diubah.", "The schedule is changed."),
    # statement (the participant's)
    "st.title": ("Rincian biaya penempatan Anda", "Statement of your placement costs"),
    "st.intro": (
        "Pinjaman {loan} ({track}), didanai oleh {funder}; status {status}; per {as_of};"
        " keberangkatan {departure}.",
        "Loan {loan} ({track}), funded by {funder}; status {status}; as of {as_of};"
        " departure {departure}.",
    ),
    "st.own_transfer": (
        "Anda membayar hanya dengan transfer Anda sendiri. Tidak ada yang dipotong dari gaji"
        " Anda di Jepang, dan tidak boleh ada deposit, denda, atau tabungan paksa yang"
        " dibebankan kepada Anda.",
        "You repay only by your own transfer. Nothing is ever deducted from your wage in Japan,"
        " and no deposit, penalty or forced saving may be charged to you.",
    ),
    "st.summary": ("Ringkasan", "Summary"),
    "st.charges": ("Biaya", "Charges"),
    "st.subsidies": ("Subsidi", "Subsidies"),
    "st.written_off": ("Dihapus oleh pemberi dana", "Written off by the funder"),
    "st.owed": ("Yang Anda tanggung", "You owe"),
    "st.paid": ("Yang sudah Anda bayar", "You paid"),
    "st.balance": ("Sisa", "Balance"),
    "st.refund": ("Kelebihan bayar yang dikembalikan kepada Anda", "Refund due to you"),
    "st.arrears": ("Tunggakan ({bucket} hari lewat jatuh tempo)", "In arrears ({bucket} days)"),
    "st.no_arrears": (
        "Tunggakan (tidak ada yang lewat jatuh tempo)",
        "In arrears (nothing past due)",
    ),
    "st.disclosure": ("Keterbukaan biaya", "Fee disclosure: charges"),
    "st.rate": (
        "Yen dengan kurs Rp{rate} per yen, kurs tanggal {date} ({source}).",
        "Yen at Rp{rate} per yen, rate of {date} ({source}).",
    ),
    "st.item": ("Pos", "Item"),
    "st.description": ("Keterangan", "Description"),
    "st.date": ("Tanggal", "Date"),
    "st.amount_jpy": ("Jumlah (JPY)", "Amount (JPY)"),
    "st.provider": ("Pemberi", "Provider"),
    "st.payments": ("Pembayaran", "Payments"),
    "st.credit": ("kredit", "credit"),
    "st.superseded": ("diganti oleh restrukturisasi", "replaced by restructuring"),
    "st.link_invalid": (
        "Tautan ini tidak berlaku (salah ketik atau sudah kedaluwarsa). Minta tautan baru kepada"
        " petugas pinjaman.",
        "This link does not work (mistyped or expired). Ask the loan officer for a new one.",
    ),
    "print": ("Cetak", "Print"),
}
WORDS.update({f"refusal.{code}": words for code, words in REFUSALS.items()})


def language(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    kept = request.cookies.get(LANG_COOKIE)
    return kept if kept in LANGUAGES else DEFAULT_LANGUAGE


def translator(lang: str) -> Callable[..., str]:
    index = LANGUAGES.index(lang)

    def t(key: str, **values: object) -> str:
        words = WORDS.get(key)
        text = words[index] if words else key
        return text.format(**values) if values else text

    return t


def status_word(lang: str) -> Callable[[str, str], str]:
    """A status as the services name it (`repaying`), in the page's language when known."""
    index = LANGUAGES.index(lang)

    def word(kind: str, value: str) -> str:
        words = WORDS.get(f"{kind}.{value}")
        return words[index] if words else value

    return word


def number(value: int | float, lang: str) -> str:
    """10.000 in Indonesian, 10,000 in English."""
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"
    if lang == "id":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text


def rupiah(value: int, lang: str) -> str:
    return "Rp" + number(value, lang)
