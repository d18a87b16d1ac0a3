"""lms_quiz: the quiz exercise type (nine question types, GIFT and Aiken).

Registered through the ``lms`` entry-point group like any third-party plugin;
the hook implementations are in :mod:`lms_quiz.plugin`.
"""
