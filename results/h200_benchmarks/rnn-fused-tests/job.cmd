timeout 150 bash -c 'python3 -m pytest -q -m '"'"'gpu or not gpu'"'"' -p no:cacheprovider tests/test_fast.py -k '"'"'rnn or lstm or gru'"'"' > $RUN_DIR/pytest.log 2>&1'
