"""The console's words for every refusal the services answer with, chosen by its code, in
Bahasa Indonesia and English. The service's own words (English, with the particulars: which
candidate, which date, which amount) are shown beneath as a detail line. A code without words
here (a service newer than its console) is said in general words, with the service's own.
tests/test_console_refusal_words.py scans the services' sources for the codes."""

from __future__ import annotations

_SAME_MOMENT = (
    "Data ini diubah oleh permintaan lain pada saat yang sama; lihat lagi, lalu kirim ulang"
    " bila masih perlu.",
    "It was changed by another request at the same moment; look again and send it again if it"
    " is still needed.",
)
_IN_THE_FUTURE = (
    "Tanggalnya di masa depan: catat setelah terjadi.",
    "It is dated in the future: record it once it has happened.",
)
_ALREADY_THERE = (
    "Penempatan sudah berada pada langkah ini.",
    "The placement is already at this step.",
)
_WITHDRAWN = ("Calon sudah mengundurkan diri.", "The candidate has withdrawn.")

# Each code: (Bahasa Indonesia, English), as `i18n.WORDS` (which holds them as `refusal.<code>`).
REFUSALS: dict[str, tuple[str, str]] = {
    "unknown": (
        "Layanan menolak permintaan ini; lihat keterangan layanan di bawah.",
        "The service refused this request; see the service's words below.",
    ),
    # every service: callers, scope, requests (kit)
    "authentication": (
        "Sesi Anda tidak diterima lagi (kedaluwarsa atau dicabut): silakan masuk lagi.",
        "Your sign-in is no longer accepted (expired or revoked): sign in again.",
    ),
    "authentication_not_configured": (
        "Layanan belum dapat memeriksa pengguna (daftar penerbit tepercaya belum diatur)."
        " Hubungi administrator.",
        "The service cannot check callers yet (no trust list is set). Ask the administrator.",
    ),
    "issuer_unreachable": (
        "Penerbit token tidak dapat dihubungi saat ini; coba lagi sebentar.",
        "The token's issuer cannot be reached now; try again shortly.",
    ),
    "revocations_not_loaded": (
        "Layanan belum memuat daftar pencabutan akses; coba lagi sebentar.",
        "The service has not loaded the list of revoked access yet; try again shortly.",
    ),
    "agency_scope": (
        "Di luar wewenang lembaga Anda: catatan atau tindakan ini milik lembaga lain.",
        "Outside your agency's scope: this record or action belongs to another agency.",
    ),
    "role_required": (
        "Akun Anda tidak memiliki peran yang diperlukan untuk ini.",
        "Your account lacks the role this needs.",
    ),
    "not_found": ("Tidak ditemukan.", "Not found."),
    "invalid_request": (
        "Ada isian yang kosong atau formatnya salah; perbaiki kolom yang disebut.",
        "Something is missing or in the wrong format; correct the fields named.",
    ),
    "unknown_field": (
        "Permintaan memuat kolom yang tidak dikenal layanan.",
        "The request holds a field the service does not know.",
    ),
    "service_unavailable": (
        "Layanan sedang tidak dapat menjawab; tidak ada yang berubah. Coba lagi sebentar.",
        "The service cannot answer now; nothing was changed. Try again shortly.",
    ),
    "service_unreachable": (
        "Layanan tidak dapat dihubungi; tidak ada yang berubah. Coba lagi sebentar.",
        "The service cannot be reached; nothing was changed. Try again shortly.",
    ),
    "bulk_encoding": (
        "Berkas harus berupa teks CSV dengan UTF-8.",
        "The file must be CSV text in UTF-8.",
    ),
    "bulk_header": (
        "Baris judul berkas tidak memuat semua kolom yang diperlukan.",
        "The file's header row lacks columns it needs.",
    ),
    "bulk_too_large": (
        "Berkas terlalu banyak barisnya: bagi menjadi beberapa berkas, lalu kirim lagi.",
        "The file has too many rows: split it and send again.",
    ),
    "changed_meanwhile": _SAME_MOMENT,
    "journey_mismatch": (
        "Data perjalanan tidak cocok dengan catatan calon.",
        "The journey does not match the candidate's record.",
    ),
    # registration
    "registration_refused": (
        "Pendaftaran tidak memenuhi aturan: lihat aturan yang tidak lulus.",
        "The registration breaks the rules: see the rules that failed.",
    ),
    "correction_refused": (
        "Koreksi tidak memenuhi aturan: lihat aturan yang tidak lulus.",
        "The correction breaks the rules: see the rules that failed.",
    ),
    "one_active_registration": (
        "NIK ini sudah punya pendaftaran aktif: satu orang, satu pendaftaran aktif.",
        "This NIK already has an active registration: one person, one active registration.",
    ),
    "registration_paused": (
        "Pendaftaran oleh Anda dijeda 24 jam: terlalu banyak NIK yang ternyata terdaftar di"
        " lembaga lain. Bila calonnya asli, hubungi Kemnaker.",
        "Your registrations are paused for 24 hours: too many NIKs were registered with"
        " another agency. If the candidates are genuine, ask Kemnaker.",
    ),
    "bulk_row": (
        "Baris ini tidak dapat dibaca sebagai pendaftaran.",
        "This row cannot be read as a registration.",
    ),
    "nik_valid": ("NIK terbaca dengan benar.", "The NIK reads correctly."),
    "nik_format": ("NIK harus tepat 16 angka.", "The NIK must be exactly 16 digits."),
    "nik_province": (
        "Angka ke-1 dan ke-2 NIK bukan kode provinsi.",
        "Digits 1-2 of the NIK are not a province code.",
    ),
    "nik_regency": (
        "Angka ke-3 dan ke-4 NIK bukan kode kabupaten (01-69) atau kota (71-99).",
        "Digits 3-4 of the NIK are not a regency (01-69) or city (71-99) code.",
    ),
    "nik_district": (
        "Angka ke-5 dan ke-6 NIK (kecamatan) tidak boleh 00.",
        "Digits 5-6 of the NIK (the district) cannot be 00.",
    ),
    "nik_birth_date": (
        "Angka ke-7 sampai ke-12 NIK bukan tanggal lahir yang nyata (perempuan: tanggal + 40).",
        "Digits 7-12 of the NIK are not a real birth date (women: day + 40).",
    ),
    "nik_serial": (
        "Angka ke-13 sampai ke-16 NIK (nomor urut) tidak boleh 0000.",
        "Digits 13-16 of the NIK (the serial) cannot be 0000.",
    ),
    "name_present": ("Nama lengkap wajib diisi.", "The full name must be given."),
    "selection_date_window": (
        "Tanggal seleksi di luar jendela yang diizinkan.",
        "The selection date lies outside the window allowed.",
    ),
    "track_open": (
        "Program ini tidak punya aturan kelayakan yang berlaku pada tanggal itu.",
        "The track has no eligibility rules in force on that date.",
    ),
    "minimum_age": (
        "Calon belum mencapai usia minimum program.",
        "The candidate is below the track's minimum age.",
    ),
    "maximum_age": (
        "Calon melebihi usia maksimum program.",
        "The candidate is above the track's maximum age.",
    ),
    "education": (
        "Pendidikan calon tidak memenuhi syarat program.",
        "The candidate's education does not meet the track's requirement.",
    ),
    "sector_for_track": (
        "Bidang pilihan tidak dibuka untuk program ini.",
        "The preferred sector is not open to this track.",
    ),
    "already_withdrawn": _WITHDRAWN,
    "withdrawn": (
        "Calon sudah mengundurkan diri: daftarkan sebagai pendaftaran baru.",
        "The candidate has withdrawn: register them anew.",
    ),
    "not_correctable": (
        "Data ini tidak dapat dikoreksi.",
        "This data cannot be corrected.",
    ),
    "nothing_to_correct": (
        "Koreksi ini tidak mengubah apa pun.",
        "The correction changes nothing.",
    ),
    "nik_read_needs_reason": (
        "Sebutkan alasan NIK lengkap diperlukan.",
        "Say why the full NIK is needed.",
    ),
    "index_rebuild_national_only": (
        "Hanya Kemnaker yang membangun ulang indeks identitas nasional.",
        "Only Kemnaker rebuilds the national identity index.",
    ),
    # training
    "candidate_not_enrolled": (
        "Calon belum diterima pelatihan: event pendaftarannya mungkin masih dalam perjalanan.",
        "The candidate is not enrolled in training: the registration's event may still be on"
        " its way.",
    ),
    "candidate_withdrawn": _WITHDRAWN,
    "result_refused": ("Hasil ujian ditolak.", "The test result is refused."),
    "result_already_recorded": (
        "Hasil ujian ini sudah tercatat.",
        "This test result is already recorded.",
    ),
    "issuer_present": (
        "Penyelenggara ujian wajib diisi.",
        "The test's issuer must be given.",
    ),
    "taken_on_not_in_future": (
        "Tanggal ujian tidak boleh di masa depan.",
        "The test date cannot be in the future.",
    ),
    "jlpt_level": ("Tingkat JLPT harus N1 sampai N5.", "The JLPT level must be N1 to N5."),
    "jft_basic_score": (
        "Nilai JFT-Basic tidak sesuai aturan.",
        "The JFT-Basic score breaks the rule.",
    ),
    "passed_flag": (
        "Sebutkan apakah ujian lulus atau tidak.",
        "Say whether the test was passed.",
    ),
    "passed_flag_matches_score": (
        "Lulus atau tidak lulus tidak sesuai dengan nilainya.",
        "Passed or not does not match the score.",
    ),
    "ssw_skill_sector": (
        "Ujian keterampilan SSW harus untuk bidang calon.",
        "The SSW skill test must be for the candidate's sector.",
    ),
    "sector_change_refused": (
        "Perubahan bidang ditolak.",
        "The sector change is refused.",
    ),
    "sector_change_after_ready": (
        "Bidang tidak dapat diubah setelah calon dinyatakan siap ditempatkan.",
        "The sector cannot change once the candidate was declared ready for placement.",
    ),
    "sector_change_reason": (
        "Sebutkan alasan perubahan bidang.",
        "Say why the sector changes.",
    ),
    "sector_code": ("Kode bidang tidak dikenal.", "The sector code is not known."),
    "sector_unchanged": (
        "Bidang yang dipilih sama dengan bidang sekarang.",
        "The sector chosen is the current one.",
    ),
    "daily_score_refused": ("Nilai harian ditolak.", "The daily score is refused."),
    "daily_score_range": (
        "Nilai harian harus antara 0 dan 100.",
        "A daily score must be between 0 and 100.",
    ),
    "day_not_in_future": _IN_THE_FUTURE,
    "cohort_refused": ("Kelas ditolak.", "The cohort is refused."),
    "cohort_name_present": ("Nama kelas wajib diisi.", "The cohort needs a name."),
    "cohort_capacity": (
        "Kapasitas kelas tidak sesuai aturan.",
        "The cohort's capacity breaks the rule.",
    ),
    "cohort_stages_present": (
        "Kelas memerlukan setidaknya satu tahap.",
        "The cohort needs at least one stage.",
    ),
    "training_centre_present": (
        "Pusat pelatihan wajib diisi.",
        "The training centre must be given.",
    ),
    "stage_centre_present": (
        "Setiap tahap memerlukan pusat pelatihan.",
        "Each stage needs a training centre.",
    ),
    "stage_dates": (
        "Tanggal tahap salah: selesai sebelum mulai.",
        "The stage's dates are wrong: it ends before it starts.",
    ),
    "stages_in_order": (
        "Tahap-tahap harus berurutan tanpa tumpang tindih.",
        "The stages must follow each other without overlapping.",
    ),
    "cohort_full": ("Kelas sudah penuh.", "The cohort is full."),
    "cohort_sector": (
        "Bidang calon berbeda dengan bidang kelas.",
        "The candidate's sector differs from the cohort's.",
    ),
    "already_in_cohort": (
        "Calon sudah menjadi anggota kelas ini.",
        "The candidate is already a member of this cohort.",
    ),
    "candidate_in_another_cohort": (
        "Calon sudah berada di kelas lain.",
        "The candidate is in another cohort.",
    ),
    "not_in_cohort": (
        "Calon bukan anggota kelas ini.",
        "The candidate is not a member of this cohort.",
    ),
    # placement
    "job_order_refused": ("Lowongan kerja ditolak.", "The job order is refused."),
    "employer_present": ("Pemberi kerja wajib diisi.", "The employer must be given."),
    "supervising_organisation_present": (
        "Lembaga pengawas wajib diisi.",
        "The supervising organisation must be given.",
    ),
    "prefecture_present": ("Prefektur wajib diisi.", "The prefecture must be given."),
    "sector_present": ("Bidang wajib diisi.", "The sector must be given."),
    "slots_positive": (
        "Lowongan memerlukan setidaknya satu tempat.",
        "A job order needs at least one slot.",
    ),
    "wage_positive": ("Gaji harus lebih dari nol.", "The wage must be above zero."),
    "wage_at_least_minimum": (
        "Gaji di bawah upah minimum prefektur.",
        "The wage is below the prefecture's minimum wage.",
    ),
    "contract_positive": (
        "Lama kontrak harus lebih dari nol bulan.",
        "The contract must last more than zero months.",
    ),
    "contract_within_track_limit": (
        "Lama kontrak melebihi batas program.",
        "The contract is longer than the track allows.",
    ),
    "close_reason_present": (
        "Sebutkan alasan lowongan ditutup.",
        "Say why the job order is closed.",
    ),
    "order_full": (
        "Semua tempat di lowongan ini sudah terisi.",
        "Every slot of this job order is taken.",
    ),
    "order_closed": ("Lowongan kerja sudah ditutup.", "The job order is closed."),
    "candidate_not_ready": (
        "Calon belum siap ditempatkan (atau kesiapannya masih dalam perjalanan ke penempatan).",
        "The candidate is not ready for placement (or the readiness is still on its way).",
    ),
    "waiting_for_certificate": (
        "Pelatihan sudah menyatakan calon siap, tetapi sertifikatnya belum sampai ke penempatan:"
        " kesiapan menunggu sertifikat itu.",
        "Training announced the candidate ready, but their certificate has not reached placement"
        " yet: the readiness waits for it.",
    ),
    "identity_duplicate": (
        "Calon terdaftar dua kali secara nasional: ditahan sampai salah satunya diselesaikan.",
        "The candidate is registered twice nationally: held until one of them is resolved.",
    ),
    "one_active_placement": (
        "Calon sudah punya penempatan yang sedang berjalan.",
        "The candidate already has a placement under way.",
    ),
    "already_on_order": (
        "Calon sudah ada di lowongan ini.",
        "The candidate is already on this job order.",
    ),
    "certificate_missing": (
        "Sertifikat yang disyaratkan belum ada.",
        "A certificate required is missing.",
    ),
    "language_below_minimum": (
        "Kemampuan bahasa Jepang di bawah syarat minimum.",
        "The Japanese language level is below the minimum.",
    ),
    "sector_mismatch": (
        "Bidang calon berbeda dengan bidang lowongan.",
        "The candidate's sector differs from the job order's.",
    ),
    "track_mismatch": (
        "Program calon berbeda dengan program lowongan.",
        "The candidate's track differs from the job order's.",
    ),
    "track_total_exceeded": (
        "Total masa kerja melebihi batas program.",
        "The time served in all would exceed the track's limit.",
    ),
    "placement_changed": (
        "Penempatan ini berubah pada saat yang sama; lihat lagi.",
        "The placement changed at the same moment; look again.",
    ),
    "shortlist_starts_a_path": (
        "Daftar pendek memulai jalur yang baru.",
        "Shortlisting starts a new path.",
    ),
    "placement_starts_a_path": (
        "Penempatan langsung memulai jalur yang baru.",
        "A direct placement starts a new path.",
    ),
    "interview_needs_shortlist": (
        "Wawancara hanya untuk calon di daftar pendek.",
        "Only a shortlisted candidate is interviewed.",
    ),
    "offer_needs_passed_interview": (
        "Tawaran kerja hanya setelah lulus wawancara.",
        "No offer without a passed interview.",
    ),
    "contract_needs_offer": (
        "Kontrak hanya setelah ada tawaran kerja.",
        "No contract without an offer.",
    ),
    "coe_needs_contract": (
        "CoE hanya setelah kontrak ditandatangani.",
        "No Certificate of Eligibility without a signed contract.",
    ),
    "visa_needs_coe": (
        "Visa hanya setelah CoE terbit.",
        "No visa without a Certificate of Eligibility.",
    ),
    "departure_needs_visa": (
        "Keberangkatan hanya setelah visa terbit.",
        "No departure without a visa.",
    ),
    "early_return_needs_departure": (
        "Pulang lebih awal hanya setelah berangkat.",
        "An early return needs a departure.",
    ),
    "already_shortlisted": _ALREADY_THERE,
    "already_interviewed": _ALREADY_THERE,
    "already_interview_failed": _ALREADY_THERE,
    "already_offered": _ALREADY_THERE,
    "already_placed": _ALREADY_THERE,
    "already_coe_issued": _ALREADY_THERE,
    "already_visa_issued": _ALREADY_THERE,
    "already_departed": _ALREADY_THERE,
    "already_returned_early": _ALREADY_THERE,
    "dated_in_future": _IN_THE_FUTURE,
    "dated_before_previous_step": (
        "Tanggalnya sebelum langkah sebelumnya.",
        "It is dated before the previous step.",
    ),
    "return_not_early": (
        "Tanggal pulang tidak sebelum akhir kontrak: itu bukan pulang lebih awal.",
        "The return is not before the contract's end: it is no early return.",
    ),
    "rules_not_configured": (
        "Aturan penempatan untuk tanggal ini belum diatur.",
        "Placement's rules for this date are not configured.",
    ),
    # financing
    "no_loan_yet": ("Belum ada pinjaman.", "There is no loan yet."),
    "loan_filter": (
        "Pilih setidaknya satu saringan untuk daftar pinjaman.",
        "Choose at least one filter for the list of loans.",
    ),
    "funder_exists": (
        "Pemberi dana dengan nama ini sudah tercatat.",
        "A funder of this name is already recorded.",
    ),
    "max_instalments": (
        "Jumlah cicilan maksimum setidaknya 1.",
        "The most instalments must be at least 1.",
    ),
    "no_default_costs": (
        "Belum ada biaya baku untuk program ini.",
        "No default costs are configured for this track.",
    ),
    "nothing_to_repay": (
        "Tidak ada pokok pinjaman untuk dicicil.",
        "There is no principal to repay.",
    ),
    "instalment_count": (
        "Jumlah cicilan tidak diizinkan.",
        "The number of instalments is not allowed.",
    ),
    "instalment_above_affordability_cap": (
        "Cicilan melebihi batas kemampuan bayar peserta.",
        "The instalment is above what the participant can be asked to pay.",
    ),
    "forbidden_charge": (
        "Biaya terlarang: deposit, denda, atau tabungan paksa tidak boleh dibebankan.",
        "A forbidden charge: no deposit, penalty or forced saving may be charged.",
    ),
    "ssw_employer_borne_cost": (
        "Dalam SSW biaya ini ditanggung pihak Jepang, bukan pekerja.",
        "Under SSW the Japanese side bears this cost, not the worker.",
    ),
    "charge_not_allowed": (
        "Biaya ini tidak boleh dibebankan kepada peserta program ini.",
        "This cost may not be charged to a participant of this track.",
    ),
    "charge_above_maximum": (
        "Biaya ini melebihi batas yang boleh dibebankan kepada peserta.",
        "This charge is above the most a participant may be charged.",
    ),
    "principal_above_maximum": (
        "Total biaya melebihi batas pinjaman program.",
        "The charges in all are above the track's most.",
    ),
    "cost_item_undescribed": (
        "Pos biaya perlu keterangan yang dapat dibaca peserta.",
        "A cost item needs a description the participant can read.",
    ),
    "cost_item_amount": (
        "Jumlah pos biaya harus bilangan bulat rupiah yang positif.",
        "A cost item must be a positive whole number of rupiah.",
    ),
    "no_cost_items": (
        "Pinjaman memerlukan setidaknya satu pos biaya.",
        "A loan needs at least one cost item.",
    ),
    "duplicate_cost_item": (
        "Setiap pos biaya hanya dicantumkan sekali.",
        "Each cost is listed once.",
    ),
    "no_salary_deduction": (
        "Cicilan hanya dengan transfer peserta sendiri, tidak pernah dipotong dari gaji.",
        "Repayment is only by the participant's own transfer, never a deduction from the wage.",
    ),
    "paid_on_in_the_future": (
        "Tanggal transfer di masa depan: catat setelah terjadi.",
        "The transfer is dated in the future: record it once it has happened.",
    ),
    "repayment_before_month_three": (
        "Cicilan pertama paling cepat jatuh tempo pada bulan ketiga setelah berangkat.",
        "The first instalment falls due in the third month after departure at the earliest.",
    ),
    "subsidy_exceeds_charges": (
        "Subsidi dan penghapusan akan melebihi biaya.",
        "Subsidies and write-offs would exceed the charges.",
    ),
    "terms_not_configured": (
        "Ketentuan pembiayaan untuk tanggal ini belum diatur.",
        "No financing terms are configured for this date.",
    ),
    "first_due_in_the_past": (
        "Jatuh tempo pertama tidak boleh di masa lalu.",
        "The first due date cannot be in the past.",
    ),
    "schedule_beyond_contract": (
        "Jadwal cicilan melewati akhir kontrak.",
        "The schedule runs beyond the contract.",
    ),
    "write_off_not_needed": (
        "Penghapusan tidak diperlukan: cicilan masih dapat dibayar.",
        "No write-off is needed: the instalments can still be paid.",
    ),
    "write_off_amount": (
        "Jumlah penghapusan harus antara Rp1 dan jumlah yang terutang.",
        "A write-off is between Rp1 and what is owed.",
    ),
    "no_decision_pending": (
        "Tidak ada keputusan yang ditunggu untuk pinjaman ini.",
        "No decision is pending on this loan.",
    ),
    "schedule_fixed": (
        "Jadwal cicilan sudah tetap: subsidi diberikan sebelum cicilan dimulai.",
        "The schedule is fixed: subsidies are granted before repayment starts.",
    ),
    "loan_closed": (
        "Pinjaman sudah ditutup: calon mengundurkan diri sebelum berangkat.",
        "The loan is closed: the candidate withdrew before departure.",
    ),
    "costs_frozen": (
        "Biaya tidak dapat diubah lagi pada tahap pinjaman ini.",
        "The costs can no longer be changed at this stage of the loan.",
    ),
    "payment_reference_reused": (
        "Referensi transfer ini sudah dipakai untuk transfer yang lain.",
        "This transfer reference was used for another transfer.",
    ),
    "no_schedule_yet": (
        "Pinjaman belum punya jadwal cicilan.",
        "The loan has no repayment schedule yet.",
    ),
    "loan_settled": (
        "Pinjaman sudah lunas: tidak ada yang terutang.",
        "The loan is settled: nothing is owed.",
    ),
    "no_open_restructuring": (
        "Hanya pinjaman yang ditangguhkan karena pulang lebih awal dapat direstrukturisasi.",
        "Only a loan paused by an early return can be restructured.",
    ),
}


def refusal_words(code: str, lang: str) -> str:
    """The console's words for a refusal's code, in `lang`; general words for a code unknown."""
    words = REFUSALS.get(code) or REFUSALS["unknown"]
    return words[0] if lang == "id" else words[1]
