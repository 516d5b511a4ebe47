extern volatile long sink;
__attribute__((noinline)) int hook(int a, long b);
__attribute__((noinline)) int hook(int a, long b) { return a * (int)b + (int)sink; }
int main(void) { return hook((int)sink, 2); }
