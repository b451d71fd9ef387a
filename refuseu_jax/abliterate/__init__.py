"""Refusal-direction ablation ("abliteration", Arditi et al. 2024) on the training mesh, measured per language.

    ablation.py     the weight edit: orthogonalise every residual-stream write against a direction
    activations.py  per-layer residual means at the post-instruction positions (running sums, data-parallel)
    prompts.py      harmful / harmless prompt sets, splits, chat-template tokens
    select.py       the paper's bypass / induce / KL scores, filters, and the judged choice
    evaluate.py     per-language refusal rates (offline judge) and benign KL
    report.py       abliteration.json, report.md, plots
    run.py          `refuseu abliterate`, end to end
"""
