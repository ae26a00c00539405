"""The page's words in English and Indonesian. `?lang=id|en`, else the browser's
Accept-Language, else English."""

from __future__ import annotations

from fastapi import Request

LANGUAGES = ("en", "id")

TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Jembatan dashboard",
        "subtitle": "Where the candidates are, against the target",
        "agency": "Agency",
        "all_agencies": "All agencies",
        "programme": "Programme",
        "all_programmes": "All programmes",
        "year": "Year",
        "show": "Show",
        "as_of": "Figures as of",
        "signed_in_as": "Signed in as",
        "sign_out": "Sign out",
        "funnel": "Funnel",
        "funnel_note": "Candidates registered in {year}, by the furthest stage each has reached.",
        "reached": "Reached",
        "now_at": "Now here",
        "target": "Departures against the target",
        "target_note": "Departures of the candidates registered in {year}.",
        "trend_note": "{start} to {end}, whatever year the candidates registered.",
        "of_target": "{done} of {target} departures",
        "no_target": "No departure target is set for {agency} in {year}.",
        "departures_trend": "Departures per month",
        "by_programme": "By programme",
        "programme_note": "Candidates registered in {year}. Events carry no programme: an agency "
        "runs one programme per track, so the programme is the agency's track.",
        "national_checks": "National identity check not cleared",
        "national_checks_note": "Active registrations, now: provisional until the national "
        "identity index answers; a person registered twice, the earlier held and the later "
        "suspended until one is withdrawn.",
        "national_check.provisional": "Provisional",
        "national_check.duplicate": "Registered twice: earlier, held",
        "national_check.suspended": "Registered twice: later, suspended",
        "drop_outs": "Drop-outs by stage and reason",
        "drop_outs_note": "Candidates registered in {year} who left the way.",
        "none": "None.",
        "stage": "Stage",
        "reason": "Reason",
        "count": "Candidates",
        "cohorts": "Cohorts below the daily-score target",
        "cohorts_note": "Members' average of their {window} most recent daily scores, against "
        "the target of {target}.",
        "cohort": "Cohort",
        "centre": "Training centre",
        "average": "Average",
        "members_below": "Below target",
        "arrears": "Loans in arrears",
        "arrears_note": "Open loans: {open}. Days past due of the oldest unpaid instalment.",
        "days": "days",
        "loans": "loans",
        "losses": "The funder's losses",
        "losses_note": "Written off in {year}: what the funder no longer asks of participants.",
        "awaiting_decision": "Loans awaiting a decision",
        "awaiting_note": "Participants who departed, but whose wage no repayment schedule within "
        "the contract fits: a longer schedule, a subsidy or a write-off is to be decided. Owed: "
        "as financing asked, less write-offs since.",
        "written_off_loans": "Loans",
        "written_off_idr": "Written off",
        "owed": "Owed",
        "total": "Total",
        "write_off.never_departed": "never departed",
        "write_off.unaffordable_schedule": "no affordable schedule",
        "docs": "API documentation",
        "events_docs": "Events (AsyncAPI)",
        "login_title": "Sign in to the dashboard",
        "login_help": "Paste the token an administrator issued for you with",
        "token": "Token",
        "sign_in": "Sign in",
        "language": "Bahasa Indonesia",
        "stage.registered": "Registered",
        "stage.in_training": "In training",
        "stage.certified": "Certified",
        "stage.ready": "Ready",
        "stage.placed": "Placed",
        "stage.departed": "Departed",
        "stage.repaying": "Repaying",
        "stage.settled": "Settled",
        "kind.withdrawn": "Withdrew",
        "kind.interview_failed": "Interview not passed",
        "kind.early_return": "Came home early",
        "reason.personal": "personal",
        "reason.health": "health",
        "reason.family": "family",
        "reason.other_work": "other work",
        "reason.not_selected": "not selected",
        "reason.other": "other",
        "reason.not_passed": "not passed",
        "reason.contract_ended_early": "contract ended early",
        "reason.employer_failure": "employer failure",
        "months": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
    },
    "id": {
        "title": "Dasbor Jembatan",
        "subtitle": "Posisi para kandidat, dibandingkan dengan target",
        "agency": "Instansi",
        "all_agencies": "Semua instansi",
        "programme": "Program",
        "all_programmes": "Semua program",
        "year": "Tahun",
        "show": "Tampilkan",
        "as_of": "Data per",
        "signed_in_as": "Masuk sebagai",
        "sign_out": "Keluar",
        "funnel": "Corong kandidat",
        "funnel_note": "Kandidat yang terdaftar pada {year}, menurut tahap terjauh yang dicapai.",
        "reached": "Mencapai",
        "now_at": "Saat ini",
        "target": "Keberangkatan dibandingkan target",
        "target_note": "Keberangkatan kandidat yang terdaftar pada {year}.",
        "trend_note": "{start} sampai {end}, apa pun tahun pendaftaran kandidat.",
        "of_target": "{done} dari {target} keberangkatan",
        "no_target": "Belum ada target keberangkatan untuk {agency} pada {year}.",
        "departures_trend": "Keberangkatan per bulan",
        "by_programme": "Per program",
        "programme_note": "Kandidat yang terdaftar pada {year}. Event tidak memuat program: setiap "
        "instansi menjalankan satu program per jalur, jadi program adalah jalur instansi.",
        "national_checks": "Pemeriksaan identitas nasional belum tuntas",
        "national_checks_note": "Pendaftaran aktif saat ini: sementara sampai indeks identitas "
        "nasional menjawab; orang yang terdaftar dua kali, yang lebih awal ditahan dan yang "
        "lebih akhir ditangguhkan sampai salah satunya ditarik.",
        "national_check.provisional": "Sementara",
        "national_check.duplicate": "Terdaftar dua kali: lebih awal, ditahan",
        "national_check.suspended": "Terdaftar dua kali: lebih akhir, ditangguhkan",
        "drop_outs": "Kandidat yang berhenti, per tahap dan alasan",
        "drop_outs_note": "Kandidat terdaftar pada {year} yang berhenti di tengah jalan.",
        "none": "Tidak ada.",
        "stage": "Tahap",
        "reason": "Alasan",
        "count": "Kandidat",
        "cohorts": "Kelas di bawah target nilai harian",
        "cohorts_note": "Rata-rata {window} nilai harian terakhir tiap peserta, dibandingkan "
        "target {target}.",
        "cohort": "Kelas",
        "centre": "Balai pelatihan",
        "average": "Rata-rata",
        "members_below": "Di bawah target",
        "arrears": "Pinjaman menunggak",
        "arrears_note": "Pinjaman berjalan: {open}. Hari keterlambatan cicilan tertua yang belum "
        "dibayar.",
        "days": "hari",
        "loans": "pinjaman",
        "losses": "Kerugian pemberi dana talangan",
        "losses_note": "Dihapusbukukan pada {year}: yang tidak lagi ditagih pemberi dana kepada "
        "peserta.",
        "awaiting_decision": "Pinjaman menunggu keputusan",
        "awaiting_note": "Peserta yang sudah berangkat, tetapi tidak ada jadwal cicilan dalam "
        "masa kontrak yang sesuai dengan gajinya: perlu diputuskan jadwal yang lebih panjang, "
        "subsidi, atau penghapusan. Terutang: sebesar yang dicatat bagian pembiayaan, dikurangi "
        "penghapusan sesudahnya.",
        "written_off_loans": "Pinjaman",
        "written_off_idr": "Dihapusbukukan",
        "owed": "Terutang",
        "total": "Jumlah",
        "write_off.never_departed": "tidak jadi berangkat",
        "write_off.unaffordable_schedule": "tidak ada jadwal yang terjangkau",
        "docs": "Dokumentasi API",
        "events_docs": "Event (AsyncAPI)",
        "login_title": "Masuk ke dasbor",
        "login_help": "Tempelkan token yang diterbitkan administrator untuk Anda dengan",
        "token": "Token",
        "sign_in": "Masuk",
        "language": "English",
        "stage.registered": "Terdaftar",
        "stage.in_training": "Pelatihan",
        "stage.certified": "Bersertifikat",
        "stage.ready": "Siap ditempatkan",
        "stage.placed": "Ditempatkan",
        "stage.departed": "Berangkat",
        "stage.repaying": "Mencicil",
        "stage.settled": "Lunas",
        "kind.withdrawn": "Mengundurkan diri",
        "kind.interview_failed": "Tidak lulus wawancara",
        "kind.early_return": "Pulang lebih awal",
        "reason.personal": "pribadi",
        "reason.health": "kesehatan",
        "reason.family": "keluarga",
        "reason.other_work": "pekerjaan lain",
        "reason.not_selected": "tidak terpilih",
        "reason.other": "lainnya",
        "reason.not_passed": "tidak lulus",
        "reason.contract_ended_early": "kontrak berakhir lebih awal",
        "reason.employer_failure": "masalah pemberi kerja",
        "months": "Jan Feb Mar Apr Mei Jun Jul Agu Sep Okt Nov Des",
    },
}


def language(request: Request) -> str:
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        return asked
    preferences = []
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        preferences.append((weight, tag.split("-")[0].lower()))
    for _, tag in sorted(preferences, key=lambda p: -p[0]):
        if tag in LANGUAGES:
            return tag
    return "en"


def number(value: int | float, lang: str) -> str:
    """10,000 in English, 10.000 in Indonesian."""
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.1f}"
    if lang == "id":
        text = text.replace(",", "_").replace(".", ",").replace("_", ".")
    return text
