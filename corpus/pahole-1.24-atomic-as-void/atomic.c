/* pahole 1.24 does not know DW_TAG_atomic_type: it warns ("tag not supported"), exits 0 and
 * writes the members and the typedef as void. pahole 1.30 and 1.32 refuse the file
 * (ENCODER_FAILED); btfenc writes the underlying type, as BTF has no atomic kind. */
typedef _Atomic int aint;

struct counters {
	_Atomic int hits;
	aint misses;
	_Atomic long bytes;
	int plain;
};

struct counters c;

int main(void)
{
	return c.hits + c.misses + (int)c.bytes + c.plain;
}
