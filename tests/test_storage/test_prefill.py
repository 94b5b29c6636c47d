from wxloan.storage import open_store
from tests.perf.prefill import prefill_synthetic
from tests.conftest import rows


async def test_prefill_makes_a_database_the_service_opens(tmp_path):
    path = tmp_path / "big.db"
    prefill_synthetic(path, users=50, messages=1000, chunk=300)
    assert rows(path, "SELECT COUNT(*) FROM messages") == [(1000,)]
    assert rows(path, "SELECT COUNT(DISTINCT openid) FROM messages") == [(50,)]
    assert rows(path, "SELECT COUNT(*) FROM processed") == [(500,)]
    store = await open_store(path)
    try:
        assert store.applied_migrations == []
        assert (await store.load_session("old-7")).slots == {"pay_score": 607}
    finally:
        await store.close()
