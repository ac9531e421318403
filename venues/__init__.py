"""Where orders go and prices come from: the exchange protocol, ccxt, paper and offline."""
