"""The five programmes of the source articles (../shared/seeds/), as scenarios.

Figures come from the articles: SMART IKAPEKSI's selection, penjurusan and dana talangan repaid
from the 3rd month (000); Kalimantan Timur's classes of 16 at BPVP Samarinda then BBPVP Bekasi,
170 offline and 97 online at the opening (001); Kemnaker and IM Japan's target of 10,000 (002);
BLK alumni placed by JOE Cooperative in the job types they trained for, with training subsidies
(003); Kota Serang and LPK KJS: four SSW sectors, N4 plus the sector test, a daily score target
of 80, 100 departures this year (004). Employers and supervising organisations are invented;
their wages are at least the prefecture's minimum wage over a full-time month, as placement's
dated rules demand (FY2025 figures).
"""

from __future__ import annotations

from .definitions import JobOrderPlan, Region, Scenario, StagePlan, Steering, SubsidyPlan

IM_JAPAN = "IM Japan"
JOE_COOPERATIVE = "JOE Cooperative"

NATIONAL_REGIONS = (
    Region("3201", "Kabupaten Bogor", 40),
    Region("3273", "Kota Bandung", 30),
    Region("3374", "Kota Semarang", 16),
    Region("3507", "Kabupaten Malang", 33),
    Region("3578", "Kota Surabaya", 31),
    Region("3402", "Kabupaten Bantul", 17),
    Region("1271", "Kota Medan", 21),
    Region("5171", "Kota Denpasar", 4),
    Region("5271", "Kota Mataram", 6),
    Region("7371", "Kota Makassar", 15),
)

BOYOLALI = Scenario(
    name="boyolali",
    seed="000",
    title="Kabupaten Boyolali x SMART IKAPEKSI",
    story="IKAPEKSI selects Boyolali's applicants, steers each to a sector with Japanese job "
    "orders, and a third party fronts the costs, repaid by own transfer from the 3rd month.",
    agency="boyolali",
    programme="smart-ikapeksi",
    track="TITP",
    regions=(Region("3309", "Kabupaten Boyolali", 22),),
    sectors={"agriculture": 0.4, "food-manufacturing": 0.2, "other": 0.4},
    size=14,
    full_size=120,
    ineligible_share=0.15,
    steering=(
        Steering(
            "other",
            "agriculture",
            0.5,
            "grew up on a dairy farm; agriculture orders from Japan match",
        ),
        Steering(
            "other",
            "food-manufacturing",
            1.0,
            "good practical scores; food-manufacturing orders from Japan match",
        ),
    ),
    training_centre="LPK mitra SMART IKAPEKSI Solo Raya",
    stages=(StagePlan("LPK mitra SMART IKAPEKSI Solo Raya", 4),),
    language_pass_rate=0.9,
    interview_pass_rate=0.9,
    job_orders=(
        JobOrderPlan(
            "Kanto Hatake Farm K.K.",
            "Kanto Agricultural Intern Cooperative",
            "Ibaraki",
            "agriculture",
            180_000,
            36,
        ),
        JobOrderPlan(
            "Chubu Shokuhin K.K.",
            "Chubu Food Industry Cooperative",
            "Aichi",
            "food-manufacturing",
            190_000,
            36,
        ),
    ),
    first_payment_share=0.9,
)

KALTIM = Scenario(
    name="kaltim",
    seed="001",
    title="Kalimantan Timur x BPVP Samarinda then BBPVP Bekasi",
    story="Kaltim's SMA/SMK graduates train for the IM Japan TITP track in classes of 16, "
    "online or offline, three months at BPVP Samarinda and three at BBPVP Bekasi.",
    agency="kaltim",
    programme="im-japan-titp-kaltim",
    track="TITP",
    regions=(
        Region("6472", "Kota Samarinda", 10),
        Region("6471", "Kota Balikpapan", 6),
        Region("6402", "Kabupaten Kutai Kartanegara", 20),
        Region("6474", "Kota Bontang", 3),
    ),
    sectors={"automotive": 0.35, "machinery-metal": 0.35, "construction": 0.3},
    size=34,
    full_size=267,
    modes={"offline": 170, "online": 97},
    training_centre="BPVP Samarinda",
    stages=(StagePlan("BPVP Samarinda", 3), StagePlan("BBPVP Bekasi", 3)),
    language_pass_rate=0.85,
    job_orders=(
        JobOrderPlan("Tokai Auto Parts K.K.", IM_JAPAN, "Aichi", "automotive", 195_000, 36),
        JobOrderPlan("Gifu Seimitsu Kogyo K.K.", IM_JAPAN, "Gifu", "machinery-metal", 175_000, 36),
        JobOrderPlan("Kansai Kensetsu K.K.", IM_JAPAN, "Osaka", "construction", 200_000, 36),
    ),
)

KEMNAKER_IM_JAPAN = Scenario(
    name="kemnaker-im-japan",
    seed="002",
    title="Kemnaker x IM Japan",
    story="The national internship programme, selected more strictly, against its target of "
    "10,000 participants a year.",
    agency="kemnaker",
    programme="im-japan-magang",
    track="TITP",
    regions=NATIONAL_REGIONS,
    sectors={
        "automotive": 0.25,
        "machinery-metal": 0.25,
        "food-manufacturing": 0.2,
        "construction": 0.15,
        "agriculture": 0.15,
    },
    size=15,
    full_size=10_000,
    target=10_000,
    ineligible_share=0.1,
    training_centre="BBPVP Bekasi",
    registration="one-by-one",
    stages=(StagePlan("BBPVP Bekasi", 4),),
    modes={"offline": 0.7, "online": 0.3},
    language_pass_rate=0.8,
    interview_pass_rate=0.9,
    job_orders=(
        JobOrderPlan("Kita Kanto Jidosha K.K.", IM_JAPAN, "Tochigi", "automotive", 178_000, 36),
        JobOrderPlan(
            "Hamamatsu Kinzoku K.K.", IM_JAPAN, "Shizuoka", "machinery-metal", 176_000, 36
        ),
        JobOrderPlan("Hokkai Foods K.K.", IM_JAPAN, "Hokkaido", "food-manufacturing", 180_000, 36),
        JobOrderPlan("Kyushu Kensetsu K.K.", IM_JAPAN, "Fukuoka", "construction", 182_000, 36),
        JobOrderPlan("Kumamoto Nouen K.K.", IM_JAPAN, "Kumamoto", "agriculture", 175_000, 36),
    ),
)

KEMNAKER_JOE = Scenario(
    name="kemnaker-joe",
    seed="003",
    title="Kemnaker x JOE Cooperative",
    story="BLK alumni go as technical interns in the job types they learnt at the BLK; "
    "Kemnaker funds the BLK training, JOE Cooperative the LPK's advanced training.",
    agency="kemnaker",
    programme="joe-blk-alumni",
    track="TITP",
    regions=NATIONAL_REGIONS,
    sectors={"machinery-metal": 0.4, "automotive": 0.3, "construction": 0.3},
    education={"SMK": 1.0},
    female_share=0.15,
    size=10,
    full_size=160,
    training_centre="LPK mitra JOE Cooperative",
    registration="one-by-one",
    stages=(StagePlan("LPK mitra JOE Cooperative", 3),),
    language_pass_rate=0.9,
    job_orders=(
        JobOrderPlan(
            "Niigata Yosetsu K.K.", JOE_COOPERATIVE, "Niigata", "machinery-metal", 172_000, 36
        ),
        JobOrderPlan("Gunma Seibi K.K.", JOE_COOPERATIVE, "Gunma", "automotive", 176_000, 36),
        JobOrderPlan("Chiba Kenzai K.K.", JOE_COOPERATIVE, "Chiba", "construction", 195_000, 36),
    ),
    subsidies=(
        SubsidyPlan("Kemnaker", "BLK vocational training", 2_000_000),
        SubsidyPlan(JOE_COOPERATIVE, "LPK advanced training before departure", 2_000_000),
    ),
)

KOTA_SERANG_SECTORS = ("agriculture", "caregiver", "automotive", "airport-ground-handling")
SSW_SUPPORT = "Registered support organisation (KJS partner)"

KOTA_SERANG = Scenario(
    name="kota-serang",
    seed="004",
    title="Kota Serang x LPK KJS",
    story="Kota Serang's residents train in LPK KJS's dormitory for the SSW track in four "
    "sectors: JLPT N4 plus the sector test, a daily score target of 80, 100 departures this year.",
    agency="kota-serang",
    programme="lpk-kjs-ssw",
    track="SSW",
    regions=(Region("3673", "Kota Serang", 6),),
    sectors=dict.fromkeys(KOTA_SERANG_SECTORS, 0.25),
    female_share=0.4,
    size=16,
    full_size=120,
    target=100,
    training_centre="LPK KJS",
    stages=(StagePlan("LPK KJS Tangerang Selatan", 4),),
    cohorts_by_sector=True,
    language_pass_rate=0.9,
    skill_pass_rate=0.85,
    daily_score_days=5,
    daily_score_mean=82,
    commitment_months=(12, 60),
    job_orders=(
        JobOrderPlan(
            "Chiba Yasai K.K.", SSW_SUPPORT, "Chiba", "agriculture", 215_000, 12, ("SSW_SKILL",)
        ),
        JobOrderPlan(
            "Sakura Kaigo K.K.",
            SSW_SUPPORT,
            "Kanagawa",
            "caregiver",
            235_000,
            12,
            ("SSW_SKILL", "NURSING_CARE_JAPANESE"),
        ),
        JobOrderPlan(
            "Yokohama Jidosha Seibi K.K.",
            SSW_SUPPORT,
            "Kanagawa",
            "automotive",
            250_000,
            12,
            ("SSW_SKILL",),
        ),
        JobOrderPlan(
            "Narita Ground Service K.K.",
            SSW_SUPPORT,
            "Chiba",
            "airport-ground-handling",
            240_000,
            12,
            ("SSW_SKILL",),
        ),
    ),
)

SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (BOYOLALI, KALTIM, KEMNAKER_IM_JAPAN, KEMNAKER_JOE, KOTA_SERANG)
}
