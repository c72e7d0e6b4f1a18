/* crypto_placeholder.c - keeps the crypto library non-empty until its first real file lands. */
int ap_crypto_placeholder(void);
int ap_crypto_placeholder(void)
{
        return 0;
}
