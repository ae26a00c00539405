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
    "sign_in_provider": ("Masuk lewat akun lembaga", "Sign in with your agency account"),
    "sign_in_done": ("Anda sudah masuk.", "You are signed in."),
    "sign_in_continue": ("Lanjutkan ke konsol", "Continue to the console"),
    "sign_in_provider_help": (
        "Lembaga Anda memakai layanan masuk sendiri: Anda akan diarahkan ke sana, lalu kembali"
        " ke sini.",
        "Your agency has its own sign-in service: you are taken there, then brought back here.",
    ),
    "sign_in_provider_refused": (
        "Masuk lewat akun lembaga tidak berhasil. Coba lagi; bila tetap gagal, hubungi"
        " administrator lembaga Anda.",
        "Signing in with your agency account did not succeed. Try again; if it still fails,"
        " ask your agency's administrator.",
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
        "Rincian pinjaman, transfer, tunggakan, keputusan jadwal, subsidi, pos biaya.",
        "Loan statements, transfers, arrears, schedule decisions, subsidies, cost items.",
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
    "readiness_and_suggestions": (
        "Kesiapan dan saran penjurusan",
        "Readiness and penjurusan suggestions",
    ),
    "suggestions_help": (
        "Saran layanan pelatihan, yang terbaik lebih dulu, dengan alasannya (poin tiap alasan)."
        " Terapkan satu untuk mengubah bidang pelatihan calon; alasannya ikut tercatat.",
        "Training's suggestions, best first, with their reasons (the points of each reason)."
        " Apply one to change the candidate's training sector; its reasons are recorded.",
    ),
    "current_sector": ("Bidang sekarang", "Current sector"),
    "readiness": ("Kesiapan", "Readiness"),
    "suggestions": ("Saran penjurusan", "Penjurusan suggestions"),
    "points": ("{points} poin", "{points} points"),
    "current_mark": ("bidang sekarang", "current sector"),
    "apply_suggestion": ("Terapkan {sector}", "Apply {sector}"),
    "sector_fixed.ready_for_placement": (
        "Bidang tetap: calon sudah dinyatakan siap ditempatkan.",
        "The sector is fixed: the candidate was declared ready for placement.",
    ),
    "sector_fixed.withdrawn": (
        "Bidang tetap: calon sudah mengundurkan diri.",
        "The sector is fixed: the candidate has withdrawn.",
    ),
    "suggestion_reason": ("Saran penjurusan: {reasons}", "Penjurusan suggestion: {reasons}"),
    "member_sector_changed": (
        "Bidang pelatihan {name} kini {sector}.",
        "{name}'s training sector is now {sector}.",
    ),
    "suggest.declared_interest": (
        "memilih {sector} saat mendaftar",
        "chose {sector} at registration",
    ),
    "suggest.skill_test_passed": (
        "lulus ujian keterampilan SSW {sector} pada {taken_on}",
        "passed the SSW skill test in {sector} on {taken_on}",
    ),
    "suggest.skill_test_failed": (
        "tidak lulus ujian keterampilan SSW {sector} pada {taken_on}",
        "failed the SSW skill test in {sector} on {taken_on}",
    ),
    "suggest.certificates_complete": (
        "semua sertifikat {track} untuk {sector} sudah ada: siap ditempatkan di bidang ini",
        "every certificate {track} needs in {sector} is in: ready for placement there",
    ),
    "suggest.certificates_missing": (
        "sertifikat {track} untuk {sector} yang masih kurang: {missing}",
        "certificates {track} still needs in {sector}: {missing}",
    ),
    "suggest.daily_scores_at_target": (
        "rata-rata nilai harian {average} ({days} hari), mencapai target {target}: ujian bahasa"
        " Jepang perawatan lansia terjangkau",
        "daily scores average {average} ({days} days), at the target of {target}: the"
        " nursing-care Japanese test is within reach",
    ),
    "suggest.daily_scores_below_target": (
        "rata-rata nilai harian {average} ({days} hari), di bawah target {target}: ujian bahasa"
        " Jepang perawatan lansia bisa berat",
        "daily scores average {average} ({days} days), below the target of {target}: the"
        " nursing-care Japanese test may be hard",
    ),
    "suggest.steered_away": (
        "dialihkan dari {sector} pada {changed_on}: {reason}",
        "steered away from {sector} on {changed_on}: {reason}",
    ),
    "suggest.cohort_sector": (
        "kelasnya berlatih untuk {sector}",
        "the candidate's cohort trains for {sector}",
    ),
    "suggest.in_demand": (
        "{sector} termasuk bidang yang dibutuhkan di Jepang",
        "{sector} is among the sectors in demand in Japan",
    ),
    "readiness.japanese_n4": (
        "bahasa Jepang N4 (JLPT N4+ atau JFT-Basic A2)",
        "Japanese at N4 (JLPT N4+ or JFT-Basic A2)",
    ),
    "readiness.ssw_skill_sector": (
        "ujian keterampilan SSW di bidangnya",
        "the SSW skill test in their sector",
    ),
    "readiness.nursing_care_japanese": (
        "ujian bahasa Jepang perawatan lansia",
        "the nursing-care Japanese test",
    ),
    "results_import": ("Impor hasil ujian (CSV)", "Import test results (CSV)"),
    "results_import_help": (
        "Hasil JLPT, JFT-Basic dan ujian keterampilan dari pusat ujian. Kolom: {columns}."
        " Tanggal sebagai YYYY-MM-DD; test salah satu dari JLPT, JFT_BASIC, SSW_SKILL,"
        " NURSING_CARE_JAPANESE.",
        "JLPT, JFT-Basic and skill test results from the test centre. Columns: {columns}."
        " Dates as YYYY-MM-DD; test one of JLPT, JFT_BASIC, SSW_SKILL, NURSING_CARE_JAPANESE.",
    ),
    "submit_results": ("Impor hasil", "Import the results"),
    "results_imported": (
        "{accepted} hasil tercatat, {refused} ditolak.",
        "{accepted} results recorded, {refused} refused.",
    ),
    "results_replayed": (
        "Berkas ini sudah pernah diimpor: tidak ada hasil yang dicatat dua kali.",
        "This file was imported before: no result was recorded twice.",
    ),
    "result.passed": ("lulus", "passed"),
    "result.not_passed": ("tercatat, tidak lulus", "recorded, not passed"),
    "column": ("kolom", "column"),
    "show_day": ("Lihat nilai tanggal", "Show the scores of"),
    "show": ("Tampilkan", "Show"),
    "in_another_cohort": ("di kelas lain", "in another cohort"),
    "move_member": (
        "Pindahkan bila sudah di kelas lain",
        "Move them if they are in another cohort",
    ),
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
    "restructure_help": (
        "Pinjaman ditangguhkan setelah peserta pulang lebih awal. Sisa {balance} dijadwalkan"
        " ulang mulai tanggal yang dipilih; cicilan lama yang belum dibayar diganti.",
        "The loan is paused after the participant's early return. The balance of {balance} is"
        " scheduled again from the date chosen; the old unpaid instalments are replaced.",
    ),
    "funder": ("Pemberi dana", "Funder"),
    "funders": ("Pemberi dana", "Funders"),
    "funders_help": (
        "Pemberi dana menalangi biaya keberangkatan. Pinjaman baru dibuka atas nama pemberi"
        " dana bawaan layanan pembiayaan; hanya lembaga yang menjalankan layanan itu yang dapat"
        " menambah pemberi dana.",
        "Funders front the costs of departure. New loans are opened in the name of the"
        " financing service's default funder; only the agency running that service may add"
        " funders.",
    ),
    "funder_name": ("Nama pemberi dana", "Funder's name"),
    "add_funder": ("Tambah pemberi dana", "Add a funder"),
    "funder_added": ("Pemberi dana {name} ditambahkan.", "The funder {name} is added."),
    "since": ("Sejak", "Since"),
    "loans_of": ("Pinjaman {name}", "{name}'s loans"),
    "needs_decision_list": (
        "Pinjaman yang menunggu keputusan",
        "Loans that need a decision",
    ),
    "written_off": ("Dihapus oleh pemberi dana", "Written off by the funder"),
    "pending.loan.departure": (
        "Penempatan mencatat keberangkatan; menunggu layanan pembiayaan menetapkan jadwal"
        " cicilan (melalui event). Halaman ini diperbarui sendiri.",
        "Placement records the departure; waiting for financing to fix the schedule (through"
        " an event). This page updates itself.",
    ),
    "pending.loan.early_return": (
        "Penempatan mencatat kepulangan lebih awal; menunggu layanan pembiayaan menangguhkan"
        " pinjaman (melalui event). Halaman ini diperbarui sendiri.",
        "Placement records the early return; waiting for financing to pause the loan (through"
        " an event). This page updates itself.",
    ),
    "loan.paused_note": (
        "Ditangguhkan sejak {date} (pulang lebih awal): tidak ada cicilan baru yang jatuh"
        " tempo sampai jadwal diatur ulang.",
        "Paused since {date} (early return): nothing more falls due until the loan is"
        " restructured.",
    ),
    "loan.closed_note": (
        "Ditutup pada {date}: calon mengundurkan diri sebelum berangkat dan tidak menanggung"
        " apa pun.",
        "Closed on {date}: the candidate withdrew before departing and owes nothing.",
    ),
    "loan.needs_decision_note": (
        "Gaji tidak cukup untuk jadwal cicilan: pilih jalan keluar di bawah.",
        "The wage cannot carry a schedule: choose a way out below.",
    ),
    "done.status": ("Status: {status}.", "Status: {status}."),
    "done.subsidy": (
        "Subsidi tercatat oleh layanan pembiayaan. Yang ditanggung peserta kini {owed}.",
        "Financing recorded the subsidy. The participant now owes {owed}.",
    ),
    "done.write_off": (
        "Penghapusan tercatat oleh layanan pembiayaan. Yang ditanggung peserta kini {owed}.",
        "Financing recorded the write-off. The participant now owes {owed}.",
    ),
    "done.schedule": (
        "Jadwal cicilan ditetapkan oleh layanan pembiayaan.",
        "Financing fixed the repayment schedule.",
    ),
    "done.item_added": (
        "Pos biaya ditambahkan. Pokok pinjaman kini {principal}.",
        "The cost item is added. The principal is now {principal}.",
    ),
    "done.item_corrected": (
        "Pos biaya dikoreksi. Pokok pinjaman kini {principal}.",
        "The cost item is corrected. The principal is now {principal}.",
    ),
    "done.item_removed": (
        "Pos biaya dihapus. Pokok pinjaman kini {principal}.",
        "The cost item is removed. The principal is now {principal}.",
    ),
    "done.early_return": (
        "Kepulangan lebih awal tercatat di layanan penempatan.",
        "Placement recorded the early return.",
    ),
    "done.restructured": (
        "Jadwal diatur ulang. Sisa {balance}.",
        "Restructured. Balance {balance}.",
    ),
    "confirm_first": ("Periksa sebelum disimpan", "Check before saving"),
    "check_first": ("Periksa dulu", "Check first"),
    "confirm_subsidy": (
        "Subsidi dari {provider} ({item}) sebesar {amount}: yang ditanggung peserta {before}"
        " menjadi {after}. Belum disimpan.",
        "A subsidy from {provider} ({item}) of {amount}: the participant's {before} becomes"
        " {after}. Not saved yet.",
    ),
    "confirm_write_off": (
        "Pemberi dana ({funder}) menghapus {amount} sebagai kerugiannya: yang ditanggung peserta"
        " {before} menjadi {after}. Belum disimpan.",
        "The funder ({funder}) writes off {amount} as its loss: the participant's {before}"
        " becomes {after}. Not saved yet.",
    ),
    "confirm_schedule": (
        "{count} cicilan bulanan mulai {first} (kontrak berakhir {end}) untuk sisa {owed}."
        " Belum disimpan.",
        "{count} monthly instalments from {first} (the contract ends {end}) for the balance of"
        " {owed}. Not saved yet.",
    ),
    "schedule_largest": (
        "Cicilan terbesar {largest}; batas {cap}.",
        "The largest instalment {largest}; the cap {cap}.",
    ),
    "schedule_about": (
        "Sekitar {about} per bulan; batas {cap}. Layanan pembiayaan memeriksa batas dan akhir"
        " kontrak saat disimpan.",
        "About {about} a month; the cap {cap}. Financing checks the cap and the contract's end"
        " when it is saved.",
    ),
    "fits_cap": ("Jadwal ini dalam batas.", "This schedule is within the cap."),
    "above_cap": (
        "Jadwal ini masih di atas batas: kurangi dulu dengan subsidi atau penghapusan.",
        "This schedule is still above the cap: reduce the balance first with a subsidy or a"
        " write-off.",
    ),
    "covers_shortfall": (
        "Ini menutup kekurangan: sesudahnya jadwal dalam kontrak muat dalam batas.",
        "This covers the shortfall: a schedule within the contract then fits the cap.",
    ),
    "still_short": (
        "Masih kurang {short}: jadwal belum muat dalam batas.",
        "Still {short} short: a schedule does not fit the cap yet.",
    ),
    "confirm_save_subsidy": ("Ya, simpan subsidi", "Yes, save the subsidy"),
    "confirm_save_write_off": ("Ya, simpan penghapusan", "Yes, save the write-off"),
    "confirm_save_schedule": ("Ya, tetapkan jadwal", "Yes, fix the schedule"),
    "decision": ("Menunggu keputusan: mengapa", "Needs a decision: why"),
    "decision_why": (
        "Satu cicilan boleh paling banyak {share}% dari gaji bulanan di Jepang (¥{wage}), yaitu"
        " {cap}. Bahkan satu cicilan tiap bulan sampai akhir kontrak melewati batas itu.",
        "An instalment may be at most {share}% of the monthly wage in Japan (¥{wage}), that is"
        " {cap}. Even one instalment a month to the contract's end exceeds it.",
    ),
    "instalment_cap": ("Batas cicilan ({share}% gaji)", "Instalment cap ({share}% of wage)"),
    "longest_schedule": ("Jadwal terpanjang dalam kontrak", "Longest schedule within the contract"),
    "longest_schedule_is": (
        "{count} cicilan, {first} sampai {end}",
        "{count} instalments, {first} to {end}",
    ),
    "instalment_then": ("Cicilan terbesar jadwal itu", "That schedule's largest instalment"),
    "shortfall": ("Kekurangan", "Shortfall"),
    "ways_out": ("Jalan keluar", "Ways out"),
    "ways_out_help": (
        "Kurangi yang ditanggung peserta sebesar kekurangan (subsidi atau penghapusan oleh"
        " pemberi dana), lalu tetapkan jadwal dalam kontrak. Setiap langkah diperiksa dulu"
        " sebelum disimpan.",
        "Take the shortfall off what the participant owes (a subsidy or the funder's"
        " write-off), then fix a schedule within the contract. Each step is checked before it"
        " is saved.",
    ),
    "ways_out_fits": (
        "Kekurangan sudah tertutup: tetapkan jadwal dalam kontrak.",
        "The shortfall is covered: fix the schedule within the contract.",
    ),
    "way.subsidy": ("Subsidi", "A subsidy"),
    "way.write_off": ("Penghapusan oleh pemberi dana", "The funder's write-off"),
    "way.schedule": ("Jadwal dalam kontrak", "A schedule within the contract"),
    "provider": ("Pemberi subsidi", "Provider"),
    "subsidy_item": ("Untuk (pos)", "For (item)"),
    "write_off_hint": (
        "Kosongkan untuk sebesar kekurangan ({shortfall}).",
        "Leave empty for the shortfall ({shortfall}).",
    ),
    "schedule_hint": (
        "Kosongkan untuk jadwal terpanjang: {count} cicilan mulai {first}.",
        "Leave empty for the longest schedule: {count} instalments from {first}.",
    ),
    "cost_items": ("Pos biaya", "Cost items"),
    "costs_open": (
        "Biaya dapat ditambah atau dikoreksi sampai peserta berangkat.",
        "Costs may be added or corrected until the participant departs.",
    ),
    "costs_frozen": (
        "Biaya dibekukan sejak keberangkatan ({date}): tidak dapat ditambah atau diubah lagi"
        " (aturan costs_frozen).",
        "The costs are frozen since the departure ({date}): they can no longer be added or"
        " changed (rule costs_frozen).",
    ),
    "costs_closed": (
        "Pinjaman ditutup: biaya tidak dapat diubah.",
        "The loan is closed: its costs cannot be changed.",
    ),
    "change": ("Ubah", "Change"),
    "correct_item": ("Koreksi", "Correct"),
    "save_correction": ("Simpan koreksi", "Save the correction"),
    "remove_item": ("Hapus pos {code}", "Remove item {code}"),
    "add_item": ("Tambah pos biaya", "Add a cost item"),
    "item_code": ("Kode pos", "Item code"),
    "item_code_hint": (
        "Huruf kecil, misalnya insurance, accommodation, passport.",
        "Lower case, e.g. insurance, accommodation, passport.",
    ),
    "reductions": ("Subsidi dan penghapusan", "Subsidies and write-offs"),
    "subsidy_line": (
        "Subsidi {provider} untuk {item}: {amount} ({date})",
        "Subsidy by {provider} for {item}: {amount} ({date})",
    ),
    "write_off_line": (
        "Dihapus oleh pemberi dana: {amount}, {reason} ({date})",
        "Written off by the funder: {amount}, {reason} ({date})",
    ),
    "early_return": ("Pulang lebih awal", "Early return"),
    "early_return_help": (
        "Jika peserta pulang sebelum kontrak berakhir: penempatan mencatatnya, lalu layanan"
        " pembiayaan menangguhkan pinjaman dan sisa dapat dijadwalkan ulang.",
        "When the participant comes home before the contract's end: placement records it,"
        " then financing pauses the loan and the balance can be scheduled again.",
    ),
    "return_date": ("Tanggal pulang", "Return date"),
    "record_early_return": ("Catat kepulangan lebih awal", "Record the early return"),
    "return.contract_ended_early": ("kontrak berakhir lebih awal", "contract ended early"),
    "return.employer_failure": ("kegagalan pemberi kerja", "employer failure"),
    "return.health": ("kesehatan", "health"),
    "return.other": ("lainnya", "other"),
    "write_off.unaffordable_schedule": (
        "gaji tidak cukup untuk jadwal",
        "the wage cannot carry a schedule",
    ),
    "write_off.never_departed": ("tidak jadi berangkat", "never departed"),
    "cost.training": ("Pelatihan", "Training"),
    "cost.tests": ("Biaya ujian", "Test fees"),
    "cost.medical": ("Pemeriksaan kesehatan", "Medical check-up"),
    "cost.documents": ("Dokumen", "Documents"),
    "cost.passport": ("Paspor", "Passport"),
    "cost.visa": ("CoE dan visa", "CoE and visa"),
    "cost.flight": ("Tiket pesawat", "Flight"),
    "cost.accommodation": ("Penginapan", "Accommodation"),
    "cost.insurance": ("Asuransi", "Insurance"),
    # statement (the participant's)
    "st.title": ("Rincian biaya penempatan Anda", "Statement of your placement costs"),
    "st.intro": (
        "Pinjaman {loan} ({track}), didanai oleh {funder}; status {status}; per {as_of};"
        " keberangkatan {departure}.",
        "Loan {loan} ({track}), funded by {funder}; status {status}; as of {as_of};"
        " departure {departure}.",
    ),
    "st.no_interest": (
        "Pinjaman ini tanpa bunga: Anda membayar kembali biaya yang dibebankan, dikurangi"
        " subsidi, dan tidak lebih.",
        "This loan carries no interest: you repay what was charged, less subsidies, and"
        " nothing more.",
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
