"""The lab's engine: data, networks, training, probes and experiments. Never imports streamlit."""
