"""Aircraft databases (tailwatch.reference.aircraft_db).

The small files are written here from public facts: the 2019 Caracas aircraft (RA-86496,
1551E0, Il-62M, flags "10"; RA-82035, 154073, An-124, flags "11"; see
../shared/data/events/2019-03-23_russian_af_caracas.md) and a few well-known airliners. The
whole tar1090-db file (../shared/data, [repository]) is read when present.
"""

from __future__ import annotations

import gzip
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pytest
from _reference_data import tar1090_db

from tailwatch.core.errors import ReferenceDataError
from tailwatch.core.rejects import Rejects
from tailwatch.reference import aircraft_db as adb

# Upstream tar1090-db layout: no header, icao;reg;icaotype;flags;desc;year;ownop; + trailing ';'
TAR1090_UPSTREAM = (
    "1551E0;RA-86496;IL62;10;ILYUSHIN Il-62;;;\n"
    "154073;RA-82035;A124;11;ANTONOV An-124 Ruslan;;;\n"
    "393322;F-HEPG;A320;00;AIRBUS A-320;2019;Air France;\n"
    "3c6586;D-AILF;a319;0;AIRBUS A-319;1997;;\n"
    '48479B;PH-726;GLID;00;"Grob G102 ""CLUB ASTIR III B""";;;\n'
    "ZZZZZZ;X-BAD;B738;00;bad address;;;\n"
    "this row has too few fields\n"
    "ADF7C8;;C17;1000;;;;\n"
    "A00001;N1;C680;0001;CESSNA 680 Citation Sovereign;;;\n"
)


def _write_gz(path: Path, text: str) -> Path:
    with gzip.open(path, "wt", encoding="utf-8") as f:
        f.write(text)
    return path


def test_tar1090_upstream_format(tmp_path: Path) -> None:
    rejects = Rejects()
    table = adb.read_tar1090_csv(
        _write_gz(tmp_path / "aircraft.csv.gz", TAR1090_UPSTREAM), rejects=rejects
    )
    assert table.schema == adb.DB_SCHEMA
    assert rejects == {"bad_icao24": 1, "bad_row": 1}
    rows = {r["icao24"]: r for r in table.to_pylist()}
    assert len(rows) == 7
    il62 = rows[0x1551E0]
    assert (il62["registration"], il62["typecode"], il62["db_flags"]) == ("RA-86496", "IL62", 1)
    assert il62["description"] == "ILYUSHIN Il-62" and il62["year"] is None
    assert rows[0x154073]["db_flags"] == 3  # military + interesting
    af = rows[0x393322]
    assert (af["year"], af["operator"], af["source"]) == (2019, "Air France", "tar1090-db")
    assert rows[0x3C6586]["typecode"] == "A319"  # upper-cased
    assert rows[0x48479B]["description"] == 'Grob G102 "CLUB ASTIR III B"'
    assert rows[0xADF7C8]["registration"] is None and rows[0xADF7C8]["db_flags"] == 1
    assert rows[0xA00001]["db_flags"] == 8  # LADD


def test_tar1090_header_format_plain_text(tmp_path: Path) -> None:
    p = tmp_path / "db.csv"
    p.write_text(
        "icao24;registration;typecode;dbflags;description\n"
        "1551E0;RA-86496;IL62;10;ILYUSHIN Il-62\n"
        "154073;RA-82035;A124;11;ANTONOV An-124 Ruslan\n"
    )
    db = adb.AircraftDB.load(p)
    rec = db.record("154073")
    assert rec is not None
    assert (rec.registration, rec.typecode, rec.military, rec.interesting, rec.pia) == (
        "RA-82035",
        "A124",
        True,
        True,
        False,
    )


def test_hex_and_flag_columns() -> None:
    vals, ok = adb.hex_to_icao24(
        pa.array(["1551e0", "4002", "~abcdef", "xyz123", "", None, "1234567", "FFFFFF"])
    )
    assert ok.tolist() == [True, True, True, False, False, False, False, True]
    assert vals[ok].tolist() == [0x1551E0, 0x004002, adb.NON_ICAO_FLAG | 0xABCDEF, 0xFFFFFF]
    bits = adb.flags_to_bits(pa.array(["1000", "0100", "0010", "0001", "10", "", None, "11000"]))
    assert bits.tolist() == [1, 2, 4, 8, 1, 0, 0, 3]


OPENSKY_OLD = (
    '"icao24","registration","manufacturericao","manufacturername","model","typecode",'
    '"serialnumber","linenumber","icaoaircrafttype","operator","operatorcallsign","operatoricao",'
    '"operatoriata","owner","testreg","registered","reguntil","status","built",'
    '"firstflightdate","seatconfiguration","engines","modes","adsb","acars","notes",'
    '"categoryDescription"\n'
    '"393322","F-HEPG","AIRBUS","Airbus","A320 214","A320","9000","","L2J","Air France",'
    '"AIRFRANS","AFR","AF","","","","","","2019-06-12","","","","false","false","false","",'
    '"No ADS-B Emitter Category Information"\n'
    '"1551e0","RA-86496","ILYUSHIN","Ilyushin","Il-62M","IL62","","","L4J","",'
    '"","","","Russian Air Force, ""223 Flight Unit""","","","","","","","","","false","false",'
    '"false","",""\n'
)

OPENSKY_NEW = (
    "'icao24','timestamp','acars','adsb','built','categoryDescription','country','engines',"
    "'firstFlightDate','firstSeen','icaoAircraftClass','lineNumber','manufacturerIcao',"
    "'manufacturerName','model','modes','nextReg','notes','operator','operatorCallsign',"
    "'operatorIata','operatorIcao','owner','prevReg','regUntil','registered','registration',"
    "'selCal','serialNumber','status','typecode','vdl'\n"
    "'154073','2025-01-01 00:00:00',0,0,'1985-01-01','','Russia','','','','L4J','',"
    "'ANTONOV','Antonov','An-124-100 Ruslan',0,'','','Russian Air Force','','','','','','','',"
    "'RA-82035','','','','A124',0\n"
)


def test_opensky_both_quoting_styles(tmp_path: Path) -> None:
    old = tmp_path / "aircraftDatabase.csv"
    old.write_text(OPENSKY_OLD)
    new = tmp_path / "aircraft-database-complete-2025-01.csv"
    new.write_text(OPENSKY_NEW)
    t_old = {r["icao24"]: r for r in adb.read_aircraft_db(old).to_pylist()}
    t_new = {r["icao24"]: r for r in adb.read_aircraft_db(new).to_pylist()}
    af = t_old[0x393322]
    assert (af["registration"], af["typecode"], af["operator"], af["year"]) == (
        "F-HEPG",
        "A320",
        "Air France",
        2019,
    )
    assert af["description"] == "Airbus A320 214" and af["source"] == "opensky"
    assert t_old[0x1551E0]["operator"] == 'Russian Air Force, "223 Flight Unit"'  # from owner
    a124 = t_new[0x154073]
    assert (a124["registration"], a124["typecode"], a124["year"], a124["db_flags"]) == (
        "RA-82035",
        "A124",
        1985,
        0,
    )
    assert a124["description"] == "Antonov An-124-100 Ruslan"


def test_mictronics_json_object_and_list_forms(tmp_path: Path) -> None:
    obj = tmp_path / "aircrafts.json"
    obj.write_text(
        json.dumps(
            {
                "1551E0": {"r": "RA-86496", "t": "IL62", "f": "10", "d": "ILYUSHIN Il-62"},
                "154073": {"r": "RA-82035", "t": "A124", "f": "11"},
                "BADHEX": {"r": "X"},
                "393322": "not an object",
            }
        )
    )
    lst = tmp_path / "aircrafts.json.gz"
    _write_gz(lst, json.dumps({"1551e0": ["RA-86496", "IL62", "10"], "154073": ["RA-82035"]}))
    rejects = Rejects()
    a = {r["icao24"]: r for r in adb.read_aircraft_db(obj, rejects=rejects).to_pylist()}
    assert rejects == {"bad_icao24": 1, "bad_row": 1}
    assert a[0x1551E0]["db_flags"] == 1 and a[0x1551E0]["description"] == "ILYUSHIN Il-62"
    assert a[0x154073]["db_flags"] == 3 and a[0x154073]["source"] == "mictronics"
    b = {r["icao24"]: r for r in adb.read_aircraft_db(lst).to_pylist()}
    assert b[0x1551E0]["typecode"] == "IL62" and b[0x154073]["typecode"] is None


def test_unknown_or_missing_files(tmp_path: Path) -> None:
    with pytest.raises(ReferenceDataError):
        adb.read_aircraft_db(tmp_path / "nope.csv")
    p = tmp_path / "x.txt"
    p.write_text("hello world\n")
    with pytest.raises(ReferenceDataError):
        adb.read_aircraft_db(p)


def _small_db(tmp_path: Path) -> adb.AircraftDB:
    return adb.AircraftDB.load(_write_gz(tmp_path / "a.csv.gz", TAR1090_UPSTREAM))


def test_vectorised_lookup(tmp_path: Path) -> None:
    db = _small_db(tmp_path)
    q = np.array([0x154073, 0x123456, 0x1551E0, 0x1551E0, 0xFFFFFF], dtype=np.uint32)
    res = db.lookup(q)
    assert res.num_rows == 5
    assert res.column("icao24").to_pylist() == q.tolist()
    assert res.column("found").to_pylist() == [True, False, True, True, False]
    assert res.column("registration").to_pylist() == [
        "RA-82035",
        None,
        "RA-86496",
        "RA-86496",
        None,
    ]
    assert res.column("db_flags").to_pylist() == [3, 0, 1, 1, 0]
    assert db.index_of(q).tolist()[1] == -1
    assert 0x1551E0 in db and 0x123456 not in db
    empty = adb.AircraftDB(adb.DB_SCHEMA.empty_table())
    assert empty.lookup(q).column("found").to_pylist() == [False] * 5


def test_by_registration(tmp_path: Path) -> None:
    db = _small_db(tmp_path)
    for key in ("RA-86496", "ra86496", " RA 86496 "):
        recs = db.by_registration(key)
        assert [r.icao24 for r in recs] == ["1551e0"]
    assert db.by_registration("RA-00000") == []


def test_merge_and_duplicates(tmp_path: Path) -> None:
    base = adb.read_tar1090_csv(_write_gz(tmp_path / "a.csv.gz", TAR1090_UPSTREAM))
    p = tmp_path / "fix.json"
    p.write_text(
        json.dumps({"1551e0": {"r": "RA-86496", "t": "IL62", "f": "10", "d": "ILYUSHIN Il-62M"}})
    )
    rejects = Rejects()
    db = adb.AircraftDB.from_tables([base, adb.read_mictronics_json(p)], rejects=rejects)
    assert rejects == {"duplicate_icao24": 1}
    rec = db.record(0x1551E0)
    assert rec is not None and rec.description == "ILYUSHIN Il-62M" and rec.source == "mictronics"
    assert bool(np.all(np.diff(db.keys.astype(np.int64)) > 0))


def test_whole_tar1090_file() -> None:
    db, rejects = tar1090_db()
    assert len(db) == 619_472
    assert rejects.total_rejected() == 0
    il62 = db.record(0x1551E0)
    a124 = db.record(0x154073)
    assert il62 is not None and a124 is not None
    assert (il62.registration, il62.typecode, il62.military, il62.interesting) == (
        "RA-86496",
        "IL62",
        True,
        False,
    )
    assert (a124.registration, a124.typecode, a124.military, a124.interesting) == (
        "RA-82035",
        "A124",
        True,
        True,
    )
    assert [r.icao24 for r in db.by_registration("RA-82035")] == ["154073"]
    flags = db.table.column("db_flags").to_numpy()
    assert int((flags & 1).astype(bool).sum()) == 20_783  # rows whose flags start with "1"


# --------------------------------------------------------------------------------------------
# download() against a loopback HTTP server
# --------------------------------------------------------------------------------------------


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, bytes, float]]] = {}

    def do_GET(self) -> None:
        status, body, delay = self.routes.get(self.path, (404, b"not found", 0.0))
        try:
            if delay:
                time.sleep(delay)
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_download_gzip(server: str, tmp_path: Path) -> None:
    payload = gzip.compress(TAR1090_UPSTREAM.encode())
    _Handler.routes = {
        "/aircraft.csv.gz": (200, payload, 0.0),
        "/plain": (200, b"icao;reg\n", 0.0),
        "/truncated": (200, payload[: len(payload) // 2], 0.0),
        "/slow": (200, payload, 3.0),
    }
    dest = tmp_path / "db" / "aircraft.csv.gz"
    assert adb.download(f"{server}/aircraft.csv.gz", dest, timeout=10) == dest
    assert dest.read_bytes() == payload
    assert len(adb.AircraftDB.load(dest)) == 7
    # failures leave the previous file alone and no temporary file behind
    for path in ("/plain", "/truncated", "/missing"):
        with pytest.raises(ReferenceDataError):
            adb.download(f"{server}{path}", dest, timeout=10)
        assert dest.read_bytes() == payload
    t0 = time.monotonic()
    with pytest.raises(ReferenceDataError):
        adb.download(f"{server}/slow", dest, timeout=0.5)
    assert time.monotonic() - t0 < 2.5
    assert sorted(p.name for p in dest.parent.iterdir()) == ["aircraft.csv.gz"]
    # an uncompressed download when asked for
    plain = adb.download(f"{server}/plain", tmp_path / "plain.csv", expect_gzip=False)
    assert plain.read_bytes() == b"icao;reg\n"
    with pytest.raises(ValueError):
        adb.download("file:///etc/passwd", tmp_path / "x")
